package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

//go:embed demoaccounting.json
var demoAccounting []byte

// payConfig configures online payment, the treasury export and the
// platform simulator.
type payConfig struct {
	// Platform selects the adapter: epay21 or xbezahldienste. Empty turns
	// online payment off: fee-paying services are then booked without
	// payment (a development setup; a city always sets it).
	Platform            string
	URL                 string // SOAP endpoint (epay21) or REST base URL (xbezahldienste)
	User, Password      string
	Mandant             string // epay21 Mandant, also the default XBezahldienste endpoint id
	Originator          string // XBezahldienste originator id
	EndPoint            string
	Timeout             time.Duration
	LateGrace           time.Duration
	PublicURL           string
	NotifySecret        string
	KassenzeichenPrefix string
	FreeCancelBefore    time.Duration
	PollInterval        time.Duration
	MaxPollInterval     time.Duration
	WorkerEvery         time.Duration
	ExportDir           string
	TreasuryURL         string
	TreasuryMaxAttempts int
	AccountingFile      string
	PaysimAddr          string
}

func (pc *payConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&pc.Platform, "payment-platform", env("PAYMENT_PLATFORM", ""), "epay21 or xbezahldienste; empty turns online payment off (PAYMENT_PLATFORM)")
	fs.StringVar(&pc.URL, "payment-url", env("PAYMENT_URL", ""), "platform endpoint: epay21 SOAP URL or XBezahldienste base URL (PAYMENT_URL)")
	fs.StringVar(&pc.User, "payment-user", env("PAYMENT_USER", ""), "platform basic-auth user (PAYMENT_USER)")
	fs.StringVar(&pc.Password, "payment-password", env("PAYMENT_PASSWORD", ""), "platform basic-auth password (PAYMENT_PASSWORD)")
	fs.StringVar(&pc.Mandant, "payment-mandant", env("PAYMENT_MANDANT", "07111000"), "8-digit municipal key (PAYMENT_MANDANT)")
	fs.StringVar(&pc.Originator, "payment-originator", env("PAYMENT_ORIGINATOR", "termin"), "XBezahldienste originator id (PAYMENT_ORIGINATOR)")
	fs.StringVar(&pc.EndPoint, "payment-endpoint", env("PAYMENT_ENDPOINT", ""), "XBezahldienste endpoint id; the Mandant when empty (PAYMENT_ENDPOINT)")
	fs.DurationVar(&pc.Timeout, "payment-timeout", envDuration("PAYMENT_TIMEOUT", 30*time.Minute), "how long a booking waits for its payment (PAYMENT_TIMEOUT)")
	fs.DurationVar(&pc.LateGrace, "payment-late-grace", envDuration("PAYMENT_LATE_GRACE", 30*time.Minute), "how long after the timeout late payments are looked for (PAYMENT_LATE_GRACE)")
	fs.StringVar(&pc.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL citizens reach this server at; http://HTTP_ADDR when empty (PUBLIC_URL)")
	fs.StringVar(&pc.NotifySecret, "notify-secret", env("NOTIFY_SECRET", ""), "HMAC secret of pushed payment notifications; empty refuses pushes (NOTIFY_SECRET)")
	fs.StringVar(&pc.KassenzeichenPrefix, "kassenzeichen-prefix", env("KASSENZEICHEN_PREFIX", "TB"), "prefix of Kassenzeichen (KASSENZEICHEN_PREFIX)")
	fs.DurationVar(&pc.FreeCancelBefore, "free-cancel-before", envDuration("FREE_CANCEL_BEFORE", 24*time.Hour), "paid bookings cancelled at least this long before start are refunded (FREE_CANCEL_BEFORE)")
	fs.DurationVar(&pc.PollInterval, "payment-poll", envDuration("PAYMENT_POLL", 15*time.Second), "first gap between status queries of an open payment (PAYMENT_POLL)")
	fs.DurationVar(&pc.MaxPollInterval, "payment-poll-max", envDuration("PAYMENT_POLL_MAX", 5*time.Minute), "longest gap between status queries (PAYMENT_POLL_MAX)")
	fs.DurationVar(&pc.WorkerEvery, "payment-worker-every", envDuration("PAYMENT_WORKER_EVERY", 5*time.Second), "how often the sweeper and outbox worker run (PAYMENT_WORKER_EVERY)")
	fs.StringVar(&pc.ExportDir, "export-dir", env("EXPORT_DIR", ""), "directory for the finance system's import files; empty holds postings back (EXPORT_DIR)")
	fs.StringVar(&pc.TreasuryURL, "treasury-url", env("TREASURY_URL", ""), "HTTP endpoint receiving each posting; empty disables it (TREASURY_URL)")
	fs.IntVar(&pc.TreasuryMaxAttempts, "treasury-max-attempts", 8, "deliveries before a posting becomes a dead letter")
	fs.StringVar(&pc.AccountingFile, "accounting", env("ACCOUNTING_FILE", ""), "accounting file for seed; the demo accounting when empty (ACCOUNTING_FILE)")
	fs.StringVar(&pc.PaysimAddr, "paysim-addr", env("PAYSIM_ADDR", "127.0.0.1:8091"), "listen address of `server paysim` (PAYSIM_ADDR)")
}

// newPlatform builds the configured adapter; nil when payment is off.
func newPlatform(pc payConfig, log *slog.Logger) (payment.Platform, error) {
	switch pc.Platform {
	case "":
		return nil, nil
	case "epay21":
		return epay21.New(epay21.Config{Endpoint: pc.URL, Username: pc.User, Password: pc.Password, Mandant: pc.Mandant,
			App: "termin", DefaultTimeoutMinutes: int(pc.Timeout / time.Minute), Logger: log})
	case "xbezahldienste":
		endpoint := pc.EndPoint
		if endpoint == "" {
			endpoint = pc.Mandant
		}
		return xbezahldienste.New(xbezahldienste.Config{BaseURL: pc.URL, OriginatorID: pc.Originator, EndPointID: endpoint,
			Username: pc.User, Password: pc.Password, Logger: log})
	}
	return nil, fmt.Errorf("payment platform %q: want epay21 or xbezahldienste", pc.Platform)
}

// payments serves the payment routes and runs the payment workers.
type payments struct {
	cfg    payConfig
	flow   *payment.Flow // nil when online payment is off
	store  *payment.Store
	worker *payment.Worker
	engine *booking.Engine
	log    *slog.Logger
}

func newPayments(d *deps) *payments {
	pc := d.cfg.Pay
	store := payment.NewStore(d.db)
	p := &payments{cfg: pc, store: store, engine: d.engine, log: d.log}
	if d.platform == nil {
		return p
	}
	public := pc.PublicURL
	if public == "" {
		public = "http://" + d.cfg.HTTPAddr
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.UTC
	}
	p.flow = &payment.Flow{
		Engine: d.engine, Store: store, Platform: d.platform, PlatformName: pc.Platform,
		Scheme: payment.KassenzeichenScheme{Prefix: pc.KassenzeichenPrefix}, PublicURL: public,
		Timeout: pc.Timeout, LateGrace: pc.LateGrace, FreeCancelBefore: pc.FreeCancelBefore,
		PollInterval: pc.PollInterval, MaxPollInterval: pc.MaxPollInterval, HTTPPostings: pc.TreasuryURL != "",
		Log: d.log, Zone: berlin,
	}
	p.worker = &payment.Worker{Flow: p.flow, ExportDir: pc.ExportDir, TreasuryURL: pc.TreasuryURL,
		MaxAttempts: pc.TreasuryMaxAttempts, RetryBase: pc.PollInterval, RetryMax: time.Hour}
	return p
}

// start runs the sweeper and the outbox worker until ctx ends.
func (p *payments) start(ctx context.Context) {
	if p.flow == nil {
		p.log.Warn("no payment platform configured: fee-paying services are booked without online payment")
		return
	}
	if p.cfg.ExportDir == "" {
		p.log.Warn("EXPORT_DIR not set: postings wait in the outbox until an export directory is configured")
	}
	go func() {
		t := time.NewTicker(p.cfg.WorkerEvery)
		defer t.Stop()
		for {
			for {
				n, err := p.flow.Sweep(ctx)
				if err != nil && ctx.Err() == nil {
					p.log.Warn("payment sweep", "err", err)
				}
				if n == 0 || err != nil {
					break
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go p.worker.Run(ctx, p.cfg.WorkerEvery)
}

func (p *payments) routes(app *fiber.App) {
	v1 := app.Group("/api/v1/payments")
	v1.Get("/:reference/return", p.paymentReturn)
	v1.Post("/notifications", p.notification)
}

// needsPayment reports whether a booking of svc is paid online first.
func (p *payments) needsPayment(svc *booking.Service) bool {
	return p != nil && p.flow != nil && svc != nil && svc.Payment == booking.PayOnline && svc.FeeCents > 0
}

var (
	errPaymentUnavailable = &apiError{Status: 503, Code: "payment_unavailable", RetryAfter: 30,
		Message:   "The payment service cannot be reached. Nothing was booked; please try again shortly.",
		MessageDE: "Der Bezahldienst ist nicht erreichbar. Es wurde nichts gebucht; bitte versuchen Sie es gleich noch einmal."}
	errPaymentRejected = newError(502, "payment_rejected", "The payment service refused the payment. Nothing was booked.",
		"Der Bezahldienst hat die Zahlung abgelehnt. Es wurde nichts gebucht.")
	errPaymentNotFound = newError(404, "payment_not_found", "There is no payment with this reference.", "Zu dieser Referenz gibt es keine Zahlung.")
	errSignature       = newError(401, "signature_invalid", "The notification signature is invalid.", "Die Signatur der Benachrichtigung ist ungültig.")
)

type paymentJSON struct {
	Reference     string    `json:"reference"`
	Kassenzeichen string    `json:"kassenzeichen"`
	AmountCents   int64     `json:"amount_cents"`
	Currency      string    `json:"currency"`
	State         string    `json:"state"`
	ExpiresAt     time.Time `json:"expires_at"`
	BookingCode   string    `json:"booking_code,omitempty"`
	BookingStatus string    `json:"booking_status,omitempty"`
}

type pendingBookingJSON struct {
	bookingJSON
	PaymentURL string      `json:"payment_url"`
	Payment    paymentJSON `json:"payment"`
}

// createBooking books a hold of a fee-paying service as pending payment
// and answers with the platform's pay page.
func (p *payments) createBooking(c *fiber.Ctx, a *api, req bookingRequest, svc *booking.Service) error {
	conf, pay, err := p.flow.Book(c.UserContext(), req.Hold, booking.Contact{Name: req.Name, Email: req.Email}, svc)
	switch {
	case errors.Is(err, payment.ErrStartFailed) && errors.Is(err, payment.ErrUnavailable):
		return errPaymentUnavailable
	case errors.Is(err, payment.ErrStartFailed):
		return errPaymentRejected
	case err != nil:
		return err
	}
	out := pendingBookingJSON{bookingJSON: a.toBookingJSON(conf.Booking), PaymentURL: pay.PayURL, Payment: toPaymentJSON(pay)}
	out.ManageToken = conf.ManageToken
	return c.Status(fiber.StatusCreated).JSON(out)
}

func toPaymentJSON(p *payment.Payment) paymentJSON {
	return paymentJSON{Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, AmountCents: p.AmountCents, Currency: p.Currency,
		State: string(p.State), ExpiresAt: p.Deadline, BookingCode: p.BookingCode}
}

// cancelHook refunds or cancels the payment of a booking being cancelled;
// nil when payment is off or the booking is unknown.
func (p *payments) cancelHook(c *fiber.Ctx, code, token string) (func(*sqlx.Tx) error, error) {
	if p == nil || p.flow == nil {
		return nil, nil
	}
	b, err := p.engine.Lookup(c.UserContext(), code, token)
	if err != nil {
		return nil, err
	}
	return p.flow.OnCancel(c.UserContext(), b), nil
}

var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – termin</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.4rem}p.en{color:#444}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><main><h1 role="status">{{.Title}}</h1><p>{{.TextDE}}</p><p class="en" lang="en">{{.TextEN}}</p>
{{with .P.BookingCode}}<p>Buchungscode / booking code: <code>{{.}}</code></p>{{end}}
<p>Kassenzeichen: <code>{{.P.Kassenzeichen}}</code></p></main></body></html>`))

func resultTexts(state string) (title, de, en string) {
	switch state {
	case "paid", "confirmed":
		return "Bezahlt – Ihre Buchung ist bestätigt", "Vielen Dank. Die Zahlung ist eingegangen und Ihre Buchung ist bestätigt.",
			"Thank you. The payment has arrived and your booking is confirmed."
	case "created", "initiated":
		return "Zahlung wird geprüft", "Die Zahlung ist noch nicht abgeschlossen. Diese Seite zeigt den aktuellen Stand, wenn Sie sie neu laden.",
			"The payment is not complete yet. Reload this page to see the current state."
	case "refunded":
		return "Zahlung erstattet", "Der Betrag wurde erstattet.", "The amount has been refunded."
	}
	return "Keine Buchung", "Die Zahlung wurde nicht abgeschlossen; die Reservierung ist freigegeben.",
		"The payment was not completed; the reservation has been released."
}

// paymentReturn is where the platform sends the citizen back. The query
// parameters are ignored: the state comes from a status query of our own.
func (p *payments) paymentReturn(c *fiber.Ctx) error {
	if p.flow == nil {
		return errPaymentNotFound
	}
	ctx := c.UserContext()
	pay, err := p.flow.Check(ctx, c.Params("reference"))
	if errors.Is(err, payment.ErrPaymentNotFound) {
		return errPaymentNotFound
	}
	if pay == nil {
		return err
	}
	if err != nil {
		// The sweeper keeps asking; the citizen sees the state we know.
		p.log.WarnContext(ctx, "status check on return", "reference", pay.Reference, "err", err)
	}
	out := toPaymentJSON(pay)
	if b, err := p.engine.BookingByID(ctx, nil, pay.BookingID); err == nil {
		out.BookingStatus = b.Status
	}
	if c.Accepts("application/json", "text/html") == "text/html" {
		title, de, en := resultTexts(out.State)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return resultPage.Execute(c.Response().BodyWriter(), struct {
			Title, TextDE, TextEN string
			P                     paymentJSON
		}{title, de, en, out})
	}
	return c.JSON(out)
}

// notification receives a pushed hint from the platform: verified, stored
// in the inbox, deduplicated by event id, then acted on only after our own
// status query.
func (p *payments) notification(c *fiber.Ctx) error {
	ctx := c.UserContext()
	body := bytes.Clone(c.Body())
	if p.flow == nil || p.cfg.NotifySecret == "" {
		return errNotFound
	}
	n, err := payment.VerifyNotification([]byte(p.cfg.NotifySecret), c.Get(payment.SignatureHeader), body)
	if err != nil {
		if ierr := p.store.RecordInbox(ctx, nil, 0, "notify", "", false, body); ierr != nil {
			p.log.WarnContext(ctx, "record rejected notification", "err", ierr)
		}
		p.log.WarnContext(ctx, "notification rejected", "err", err)
		if errors.Is(err, payment.ErrMalformedNotification) {
			return newError(400, "notification_invalid", "The notification is malformed.", "Die Benachrichtigung ist fehlerhaft.")
		}
		return errSignature
	}
	pay, err := p.store.PaymentByReference(ctx, nil, n.Reference)
	if errors.Is(err, payment.ErrPaymentNotFound) && n.PlatformID != "" {
		pay, err = p.store.PaymentByPlatformID(ctx, n.PlatformID)
	}
	var paymentID int64
	switch {
	case err == nil:
		paymentID = pay.ID
	case !errors.Is(err, payment.ErrPaymentNotFound):
		return err
	}
	seen, err := p.store.SeenEvent(ctx, n.EventID)
	if err != nil {
		return err
	}
	if err := p.store.RecordInbox(ctx, nil, paymentID, "notify", n.EventID, true, body); err != nil {
		return err
	}
	if pay != nil && !seen {
		if _, err := p.flow.Check(ctx, pay.Reference); err != nil {
			p.log.WarnContext(ctx, "status check after notification", "reference", pay.Reference, "err", err)
		}
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "accepted"})
}

// seedAccounting loads the accounting file (the demo's when none is
// configured) after the city.
func seedAccounting(ctx context.Context, cfg config, store *payment.Store) error {
	var r io.Reader = bytes.NewReader(demoAccounting)
	if cfg.Pay.AccountingFile != "" {
		f, err := os.Open(cfg.Pay.AccountingFile)
		if err != nil {
			return fmt.Errorf("accounting file: %w", err)
		}
		defer f.Close()
		r = f
	} else if cfg.CityFile != "" {
		return nil // a city of its own brings its own accounting
	}
	list, err := payment.ParseAccounting(r)
	if err != nil {
		return err
	}
	return store.SaveAccounting(ctx, list)
}

// runPaysim runs the payment-platform simulator until ctx ends. It speaks
// both wire interfaces and accepts the credentials the server is
// configured with; pushes go to the server when NOTIFY_SECRET is set.
func runPaysim(ctx context.Context, cfg config, log *slog.Logger) error {
	pc := cfg.Pay
	public := pc.PublicURL
	if public == "" {
		public = "http://" + cfg.HTTPAddr
	}
	endpoint := pc.EndPoint
	if endpoint == "" {
		endpoint = pc.Mandant
	}
	simCfg := paysim.Config{BaseURL: "http://" + pc.PaysimAddr, Username: pc.User, Password: pc.Password,
		Mandant: pc.Mandant, OriginatorID: pc.Originator, EndPointID: endpoint, Logger: log}
	if pc.NotifySecret != "" {
		simCfg.NotifyURL = strings.TrimRight(public, "/") + "/api/v1/payments/notifications"
		simCfg.NotifySecret = []byte(pc.NotifySecret)
		simCfg.Faults.Notify.Enabled = true
	}
	sim := paysim.New(simCfg)
	defer sim.Close()
	ln, err := net.Listen("tcp", pc.PaysimAddr)
	if err != nil {
		return fmt.Errorf("paysim listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	log.Info("payment-platform simulator serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
