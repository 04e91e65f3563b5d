// Package paysim is a payment-platform simulator: a real HTTP server that
// speaks both wire interfaces the adapters use (epay21-style SOAP and
// XBezahldienste REST), renders a pay page where a person picks a payment
// method and pays, fails or cancels, and produces the daily settlement
// report and a camt.053 bank statement with the payout. Faults (slow or
// failing status calls, citizens who never return, duplicate return hits,
// lost/duplicated/reordered push notifications) can be switched on by
// configuration or at run time, so the booking flow is tested against the
// awkward cases, not only the happy path.
//
// State is in memory and guarded by one mutex; it is a test and demo tool,
// not a platform. Routes and formats are listed in docs/payment-platform.md.
package paysim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Config configures the simulator. The zero value works: no auth, fees of
// 25 ct + 1.2 %, Europe/Berlin days, payout booked one day after the
// settlement day.
type Config struct {
	// BaseURL is the simulator's external URL, used in pay-page and
	// transaction URLs. Empty: derived from each request's Host.
	BaseURL string
	// Username and Password protect both platform APIs with basic auth
	// (not the pay page or /sim routes). Empty Username disables the check.
	Username, Password string
	// XBZAuth is how XBezahldienste callers authenticate: AuthBasic (the
	// default; none without Username), AuthOAuth2 or AuthTLS. epay21's SOAP
	// interface always takes basic auth.
	XBZAuth string
	// OAuthClientID and OAuthClientSecret are the one client the token
	// endpoint knows; TokenTTL is how long its tokens live (default 5 min).
	OAuthClientID, OAuthClientSecret string
	TokenTTL                         time.Duration
	// Mandant, OriginatorID and EndPointID, when set, are the only caller
	// ids accepted.
	Mandant, OriginatorID, EndPointID string

	// FeeFixedCents + FeeBasisPoints/10000 of the gross amount is charged
	// per payment. Both zero means the defaults 25 and 120 unless NoFee.
	FeeFixedCents  int64
	FeeBasisPoints int64
	NoFee          bool

	// PayoutLagDays: the payout of settlement day D is booked on the bank
	// statement of day D+lag. 0 means 1; negative means same day.
	PayoutLagDays int
	AccountIBAN   string // the city's account; default an example IBAN
	AccountOwner  string // default "Stadtkasse"

	// Extensions switches on what no real platform's public interface
	// shows and the simulator offers only for trying the server's
	// optional paths: pushed notifications (with Faults.Notify.Enabled)
	// and the XBezahldienste refund call. Off, the simulator speaks the
	// platforms' wire only.
	Extensions bool
	// NotifyURL receives pushed notifications (with Extensions and
	// Faults.Notify.Enabled), signed with NotifySecret.
	NotifyURL    string
	NotifySecret []byte

	Faults   Faults
	Location *time.Location   // settlement days; default Europe/Berlin (UTC if unavailable)
	Now      func() time.Time // default time.Now
	// HTTPClient makes the simulator's own calls (notifications, return-URL
	// visits). Default: 5 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Faults are the misbehaviours the simulator can show. Counters count down
// with each status call they affect.
type Faults struct {
	StatusFailNext  int   `json:"statusFailNext"`  // next N status calls answer HTTP 500 / SOAP server fault
	StatusSlowNext  int   `json:"statusSlowNext"`  // next N status calls wait StatusDelayMs first
	StatusDelayMs   int64 `json:"statusDelayMs"`   // delay for slow status calls
	NeverReturn     bool  `json:"neverReturn"`     // after paying, the citizen is not redirected back
	DuplicateReturn bool  `json:"duplicateReturn"` // the return URL is hit twice
	// LoseCreateAnswerNext: the next N XBezahldienste creates make the
	// payment, then drop the connection without an answer.
	LoseCreateAnswerNext int `json:"loseCreateAnswerNext"`
	// PlatformDown makes the XBezahldienste /status endpoint answer 503.
	PlatformDown bool         `json:"platformDown"`
	Notify       NotifyFaults `json:"notify"`
}

// NotifyFaults controls pushed notifications.
type NotifyFaults struct {
	Enabled   bool `json:"enabled"`   // push at all
	Duplicate bool `json:"duplicate"` // send every notification twice
	Reorder   bool `json:"reorder"`   // hold each notification back until the next one has been sent
	Lose      bool `json:"lose"`      // drop notifications silently
}

// Simulator states of a payment (exposed in /sim/payments).
const (
	StateInit      = "init"
	StateStarted   = "started"
	StatePaid      = "paid"
	StateConfirmed = "confirmed"
	StateCancelled = "cancelled"
	StateFailed    = "failed"
	StateExpired   = "expired"
)

// Methods the pay page offers.
const (
	MethodCreditCard  = "creditcard"
	MethodPayPal      = "paypal"
	MethodDirectDebit = "directdebit"
)

// Wire interfaces a payment was created through.
const (
	APIEpay21         = "epay21"
	APIXBezahldienste = "xbezahldienste"
)

// Payment is the simulator's record of a payment.
type Payment struct {
	ID            string            `json:"id"`
	API           string            `json:"api"`
	Reference     string            `json:"reference"`
	Kassenzeichen string            `json:"kassenzeichen,omitempty"`
	Purpose       string            `json:"purpose"`
	Description   string            `json:"description,omitempty"`
	AmountCents   int64             `json:"amountCents"`
	Currency      string            `json:"currency"`
	ReturnURL     string            `json:"returnUrl"`
	CancelURL     string            `json:"cancelUrl"`
	BookingData   map[string]string `json:"bookingData,omitempty"`
	State         string            `json:"state"`
	Method        string            `json:"method,omitempty"`
	CreatedAt     time.Time         `json:"createdAt"`
	Deadline      time.Time         `json:"deadline"`
	PaidAt        time.Time         `json:"paidAt,omitzero"`
	RefundedCents int64             `json:"refundedCents"`
	Refunds       []Refund          `json:"refunds,omitempty"`

	// xbzRequest is the create body, echoed in XBezahldienste answers.
	xbzRequest json.RawMessage
}

// Refund is one refund (or reversal on a failed/cancelled confirm).
type Refund struct {
	ID             string    `json:"id"`
	ClientRefundID string    `json:"clientRefundId,omitempty"`
	AmountCents    int64     `json:"amountCents"`
	At             time.Time `json:"at"`
	Reason         string    `json:"reason,omitempty"`
}

// Server is the simulator; it implements http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger
	hc  *http.Client

	mu       sync.Mutex
	payments map[string]*Payment
	order    []string
	byRef    map[string]string // API+"\x00"+reference → id
	seq      int
	// run tags the ids of this process: a restarted simulator never
	// hands out an id again, as a real platform never does.
	run    string
	faults Faults
	held   []byte // a notification held back by the reorder fault
	// tokens are the OAuth2 tokens handed out, with their expiry.
	tokens       map[string]time.Time
	tokensIssued int
	wg           sync.WaitGroup
}

// New returns a simulator for cfg.
func New(cfg Config) *Server {
	if !cfg.NoFee && cfg.FeeFixedCents == 0 && cfg.FeeBasisPoints == 0 {
		cfg.FeeFixedCents, cfg.FeeBasisPoints = 25, 120
	}
	if cfg.PayoutLagDays == 0 {
		cfg.PayoutLagDays = 1
	} else if cfg.PayoutLagDays < 0 {
		cfg.PayoutLagDays = 0
	}
	if cfg.AccountIBAN == "" {
		cfg.AccountIBAN = "DE02120300000000202051"
	}
	if cfg.AccountOwner == "" {
		cfg.AccountOwner = "Stadtkasse"
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			loc = time.UTC
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		log:      log.With("component", "paysim"),
		hc:       hc,
		payments: map[string]*Payment{},
		byRef:    map[string]string{},
		faults:   cfg.Faults,
		run:      runTag(),
		tokens:   map[string]time.Time{},
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST "+Epay21Path, s.handleSOAP)
	s.mux.HandleFunc("POST "+XBezahldienstePrefix+"/paymenttransaction/{originator}/{endpoint}", s.handleXBZCreate)
	s.mux.HandleFunc("GET "+XBezahldienstePrefix+"/paymenttransaction/{originator}/{endpoint}/{id}", s.handleXBZStatus)
	s.mux.HandleFunc("POST "+XBezahldienstePrefix+"/paymenttransaction/{originator}/{endpoint}/{id}/refund", s.handleXBZRefund)
	s.mux.HandleFunc("GET "+XBezahldienstePrefix+"/status/{originator}/{endpoint}", s.handleXBZHealth)
	s.mux.HandleFunc("POST /oauth/token", s.handleToken)
	s.mux.HandleFunc("GET /pay/{id}", s.handlePayPage)
	s.mux.HandleFunc("POST /pay/{id}", s.handlePaySubmit)
	s.mux.HandleFunc("GET /sim/payments", s.handleList)
	s.mux.HandleFunc("GET /sim/payments/{id}", s.handleGet)
	s.mux.HandleFunc("POST /sim/payments/{id}/complete", s.handleComplete)
	s.mux.HandleFunc("POST /sim/payments/{id}/refund", s.handleBackOfficeRefund)
	s.mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	s.mux.HandleFunc("POST /sim/faults", s.handleSetFaults)
	s.mux.HandleFunc("GET /sim/settlement", s.handleSettlement)
	s.mux.HandleFunc("GET /sim/camt053", s.handleCamt)
}

// runTag returns six random Crockford base32 characters (30 bits).
func runTag() string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = crockford[int(b[i])%len(crockford)]
	}
	return string(b)
}

// newID numbers an id of this process, e.g. EP-7K2M9Q-000001. The
// caller holds s.mu and has advanced s.seq.
func (s *Server) newID(prefix string) string {
	return fmt.Sprintf("%s-%s-%06d", prefix, s.run, s.seq)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close sends a notification still held back by the reorder fault and waits
// for deliveries in flight.
func (s *Server) Close() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	if held != nil {
		s.wg.Add(1)
		go s.deliver([][]byte{held})
	}
	s.wg.Wait()
}

// SetFaults replaces the active faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Payments returns copies of all payments in creation order.
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payment, 0, len(s.order))
	for _, id := range s.order {
		p := s.payments[id]
		s.expireLocked(p)
		out = append(out, copyPayment(p))
	}
	return out
}

// Payment returns a copy of one payment.
func (s *Server) Payment(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return Payment{}, false
	}
	s.expireLocked(p)
	return copyPayment(p), true
}

func copyPayment(p *Payment) Payment {
	c := *p
	c.Refunds = append([]Refund(nil), p.Refunds...)
	if p.BookingData != nil {
		c.BookingData = make(map[string]string, len(p.BookingData))
		for k, v := range p.BookingData {
			c.BookingData[k] = v
		}
	}
	return c
}

// Errors of simulator operations, mapped to wire errors by the handlers.
var (
	errNotFound     = errors.New("payment not found")
	errInvalid      = errors.New("invalid request")
	errDuplicate    = errors.New("reference already used for a different payment")
	errInvalidState = errors.New("operation not allowed in this state")
	errRefundTooBig = errors.New("refund exceeds the amount not yet refunded")
)

// create registers p (ID, State, times are filled in). A repeated create
// with the same reference and amount returns the existing payment, so a
// client retrying after a timeout does not create two.
func (s *Server) create(p *Payment, timeoutMin int) (Payment, error) {
	return s.createPayment(p, timeoutMin, false)
}

func (s *Server) createPayment(p *Payment, timeoutMin int, once bool) (Payment, error) {
	if p.Reference == "" || len(p.Reference) > 36 || p.AmountCents <= 0 || p.Currency != "EUR" ||
		len(p.Purpose) > payment.MaxPurposeLen || !absURL(p.ReturnURL) || !absURL(p.CancelURL) {
		return Payment{}, fmt.Errorf("%w: reference, amount, currency, purpose or URLs", errInvalid)
	}
	if timeoutMin <= 0 {
		timeoutMin = 30
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := p.API + "\x00" + p.Reference
	if id, ok := s.byRef[key]; ok {
		old := s.payments[id]
		if once {
			return Payment{}, fmt.Errorf("%w: requestId %s", errDuplicate, p.Reference)
		}
		if old.AmountCents != p.AmountCents {
			return Payment{}, errDuplicate
		}
		return copyPayment(old), nil
	}
	s.seq++
	prefix := "EP"
	if p.API == APIXBezahldienste {
		prefix = "XB"
	}
	p.ID = s.newID(prefix)
	p.State = StateInit
	p.CreatedAt = s.cfg.Now().UTC()
	p.Deadline = p.CreatedAt.Add(time.Duration(timeoutMin) * time.Minute)
	s.payments[p.ID] = p
	s.order = append(s.order, p.ID)
	s.byRef[key] = p.ID
	s.log.Info("payment created", "id", p.ID, "api", p.API, "amount_cents", p.AmountCents)
	return copyPayment(p), nil
}

// createOnce registers p like create, but a reference used before is an
// error (XBezahldienste's PAYMENT_EXISTS), never the earlier payment.
func (s *Server) createOnce(p *Payment, timeoutMin int) (Payment, error) {
	return s.createPayment(p, timeoutMin, true)
}

func absURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// expireLocked moves an open payment past its deadline to expired.
func (s *Server) expireLocked(p *Payment) {
	if (p.State == StateInit || p.State == StateStarted) && s.cfg.Now().After(p.Deadline) {
		p.State = StateExpired
	}
}

// lookup finds a payment by id or, when id is empty, by API reference.
func (s *Server) lookupLocked(api, id, ref string) (*Payment, error) {
	if id == "" {
		id = s.byRef[api+"\x00"+ref]
	}
	p, ok := s.payments[id]
	if !ok || p.API != api {
		return nil, errNotFound
	}
	s.expireLocked(p)
	return p, nil
}

// status returns a payment for a status call, applying status faults
// (outside the lock, so a slow call does not block the simulator).
func (s *Server) statusFault(ctx context.Context) error {
	s.mu.Lock()
	fail := s.faults.StatusFailNext > 0
	if fail {
		s.faults.StatusFailNext--
	}
	var delay time.Duration
	if !fail && s.faults.StatusSlowNext > 0 {
		s.faults.StatusSlowNext--
		delay = time.Duration(s.faults.StatusDelayMs) * time.Millisecond
	}
	s.mu.Unlock()
	if fail {
		return errors.New("simulated status failure")
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Outcomes of a completion on the pay page or via /sim.
const (
	OutcomePaid      = "paid"
	OutcomeFailed    = "failed"
	OutcomeCancelled = "cancelled"
)

// complete finishes an open payment and returns the URL the citizen is sent
// to.
func (s *Server) complete(id, outcome, method string) (Payment, string, error) {
	s.mu.Lock()
	p, ok := s.payments[id]
	if !ok {
		s.mu.Unlock()
		return Payment{}, "", errNotFound
	}
	s.expireLocked(p)
	if p.State != StateInit && p.State != StateStarted {
		c := copyPayment(p)
		s.mu.Unlock()
		return c, "", fmt.Errorf("%w: payment is %s", errInvalidState, c.State)
	}
	target := p.ReturnURL
	switch outcome {
	case OutcomePaid:
		switch method {
		case "":
			method = MethodCreditCard
		case MethodCreditCard, MethodPayPal, MethodDirectDebit:
		default:
			s.mu.Unlock()
			return Payment{}, "", fmt.Errorf("%w: method %q", errInvalid, method)
		}
		p.State, p.Method, p.PaidAt = StatePaid, method, s.cfg.Now().UTC()
	case OutcomeFailed:
		p.State, p.Method = StateFailed, method
	case OutcomeCancelled:
		p.State = StateCancelled
		target = p.CancelURL
	default:
		s.mu.Unlock()
		return Payment{}, "", fmt.Errorf("%w: outcome %q", errInvalid, outcome)
	}
	c := copyPayment(p)
	s.notifyLocked(p, "payment."+outcome)
	s.mu.Unlock()
	s.log.Info("payment completed", "id", id, "state", c.State, "method", c.Method)
	return c, target, nil
}

// confirm applies the merchant's ConfirmPayment. failure/cancel on a paid
// payment reverses it in full.
func (s *Server) confirm(api, id, action string) (Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupLocked(api, id, "")
	if err != nil {
		return Payment{}, err
	}
	switch {
	case action == "confirm" && (p.State == StatePaid || p.State == StateConfirmed):
		if p.State == StatePaid {
			p.State = StateConfirmed
			s.notifyLocked(p, "payment.confirmed")
		}
	case (action == "failure" || action == "cancel") && (p.State == StatePaid):
		s.refundLocked(p, p.AmountCents-p.RefundedCents, "", "reversal: "+action)
		p.State = StateCancelled
		s.notifyLocked(p, "payment.cancelled")
	case (action == "failure" || action == "cancel") && (p.State == StateInit || p.State == StateStarted):
		p.State = StateCancelled
		s.notifyLocked(p, "payment.cancelled")
	case (action == "failure" || action == "cancel") && (p.State == StateCancelled || p.State == StateFailed || p.State == StateExpired):
		// Already closed; repeating is harmless.
	case action != "confirm" && action != "failure" && action != "cancel":
		return Payment{}, fmt.Errorf("%w: action %q", errInvalid, action)
	default:
		return Payment{}, fmt.Errorf("%w: %s on a %s payment", errInvalidState, action, p.State)
	}
	return copyPayment(p), nil
}

// refund pays back amount on a paid or confirmed payment. A repeated
// clientRefundID returns the earlier refund.
func (s *Server) refund(api, id string, amount int64, clientRefundID, reason string) (Refund, Payment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupLocked(api, id, "")
	if err != nil {
		return Refund{}, Payment{}, err
	}
	if clientRefundID != "" {
		for _, r := range p.Refunds {
			if r.ClientRefundID == clientRefundID {
				if r.AmountCents != amount {
					return Refund{}, Payment{}, fmt.Errorf("%w: refund id reused with another amount", errDuplicate)
				}
				return r, copyPayment(p), nil
			}
		}
	}
	if p.State != StatePaid && p.State != StateConfirmed {
		return Refund{}, Payment{}, fmt.Errorf("%w: refund on a %s payment", errInvalidState, p.State)
	}
	if amount <= 0 {
		return Refund{}, Payment{}, fmt.Errorf("%w: refund amount", errInvalid)
	}
	if amount > p.AmountCents-p.RefundedCents {
		return Refund{}, Payment{}, errRefundTooBig
	}
	r := s.refundLocked(p, amount, clientRefundID, reason)
	s.notifyLocked(p, "payment.refunded")
	return r, copyPayment(p), nil
}

func (s *Server) refundLocked(p *Payment, amount int64, clientRefundID, reason string) Refund {
	s.seq++
	r := Refund{ID: s.newID("RF"), ClientRefundID: clientRefundID, AmountCents: amount, At: s.cfg.Now().UTC(), Reason: reason}
	p.Refunds = append(p.Refunds, r)
	p.RefundedCents += amount
	s.log.Info("payment refunded", "id", p.ID, "refund", r.ID, "amount_cents", amount)
	return r
}

// markStarted records that the citizen opened the pay page.
func (s *Server) markStarted(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return Payment{}, false
	}
	s.expireLocked(p)
	if p.State == StateInit {
		p.State = StateStarted
	}
	return copyPayment(p), true
}

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// visitReturn makes the simulator itself call the citizen's landing URL:
// once, or twice with the DuplicateReturn fault. Errors are logged only;
// the landing page is the merchant's business.
func (s *Server) visitReturn(ctx context.Context, target string, times int) {
	for range times {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			s.log.Warn("return visit", "error", err)
			return
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			s.log.Warn("return visit", "error", err)
			continue
		}
		resp.Body.Close()
	}
}

func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Username == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	if ok && u == s.cfg.Username && p == s.cfg.Password {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="simulator"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
	return false
}

func (s *Server) fee(gross int64) int64 {
	if s.cfg.NoFee {
		return 0
	}
	return s.cfg.FeeFixedCents + (gross*s.cfg.FeeBasisPoints+5000)/10000
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
