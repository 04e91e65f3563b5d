package xbezahldienste

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

const maxResponse = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL      string // e.g. https://bezahldienst.example/api/v1.0.0 (the part before /paymenttransaction)
	OriginatorID string // our id at the platform
	EndPointID   string // e.g. the AGS of the city
	// Username and Password are HTTP basic auth; empty Username sends
	// none (OAuth2 and client certificates live in HTTPClient).
	Username, Password string
	// HTTPClient carries the platform's authentication where it is not
	// basic auth: a Bearer token source or a TLS client certificate
	// (package platformauth). Default: a client with a 15 s timeout.
	HTTPClient *http.Client
	// SimulatorRefunds sends refunds to the simulator's refund extension
	// (POST …/{transactionId}/refund). No platform offers it: without it,
	// refunds go to finance's work list (payment.ErrManualRefund).
	SimulatorRefunds bool
	// Location reads timestamps without a zone; default Europe/Berlin.
	Location *time.Location
	Logger   *slog.Logger // default: slog.Default()
	Now      func() time.Time
}

// Client is a payment.Platform speaking XBezahldienste. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	base   string
	status string
	hc     *http.Client
	log    *slog.Logger
}

var (
	_ payment.Platform      = (*Client)(nil)
	_ payment.HealthChecker = (*Client)(nil)
)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("xbezahldienste: base URL %q must be absolute http(s)", cfg.BaseURL)
	}
	if !validID(cfg.OriginatorID) || !validID(cfg.EndPointID) {
		return nil, fmt.Errorf("xbezahldienste: originator and endpoint id must be 1-%d characters of [A-Za-z0-9_-]", MaxIDLen)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = payment.Berlin()
	}
	root := strings.TrimRight(cfg.BaseURL, "/")
	ids := url.PathEscape(cfg.OriginatorID) + "/" + url.PathEscape(cfg.EndPointID)
	return &Client{cfg: cfg, base: root + "/paymenttransaction/" + ids, status: root + "/status/" + ids,
		hc: hc, log: log.With("platform", "xbezahldienste")}, nil
}

func validID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for _, r := range s {
		if !wordChar(r) && r != '-' {
			return false
		}
	}
	return true
}

// Create posts a payment transaction with one line item carrying the
// booking data. The purpose and description are built to the standard's
// patterns. XBezahldienste knows a single redirect URL for every outcome,
// so req.CancelURL is not sent; the return handler reads the outcome from
// the status call anyway.
func (c *Client) Create(ctx context.Context, req payment.CreateRequest) (payment.Created, error) {
	if err := req.Validate(); err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w", req.Reference, err)
	}
	pr, err := c.paymentRequest(req)
	if err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w", req.Reference, err)
	}
	body, err := c.do(ctx, http.MethodPost, c.base, pr)
	if err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w", req.Reference, err)
	}
	created, err := parseCreated(body)
	if err != nil {
		// An answer we cannot read may still stand for a payment made.
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w: %w: %w", req.Reference, payment.ErrUnavailable, payment.ErrOutcomeUnknown, err)
	}
	return created, nil
}

// paymentRequest is the create body for req: one item whose net and tax
// amounts split the gross amount at the service's tax rate.
func (c *Client) paymentRequest(req payment.CreateRequest) (PaymentRequest, error) {
	if len(req.Reference) > MaxIDLen {
		return PaymentRequest{}, fmt.Errorf("%w: requestId longer than %d", payment.ErrInvalidRequest, MaxIDLen)
	}
	purpose := Purpose(req.Purpose)
	if purpose == "" {
		return PaymentRequest{}, fmt.Errorf("%w: purpose has no usable character", payment.ErrInvalidRequest)
	}
	bd := make(map[string]string, len(req.BookingData)+1)
	for k, v := range req.BookingData {
		bd[k] = v
	}
	if req.Kassenzeichen != "" {
		bd["Kassenzeichen"] = req.Kassenzeichen
	}
	net, tax := SplitGross(req.AmountCents, req.TaxRateBasisPoints)
	desc := Description(req.Description)
	item := Item{
		ID:              "1",
		Reference:       req.Kassenzeichen,
		Description:     Description(req.Purpose),
		TaxRate:         Amount(req.TaxRateBasisPoints),
		Quantity:        1,
		TotalNetAmount:  Amount(net),
		TotalTaxAmount:  Amount(tax),
		SingleNetAmount: Amount(net),
		SingleTaxAmount: Amount(tax),
		BookingData:     bd,
	}
	return PaymentRequest{
		RequestID:        req.Reference,
		RequestTimestamp: c.cfg.Now().UTC().Format(time.RFC3339),
		Currency:         req.Currency,
		GrosAmount:       Amount(req.AmountCents),
		Purpose:          purpose,
		Description:      desc,
		RedirectURL:      req.ReturnURL,
		Items:            []Item{item},
	}, nil
}

// SplitGross splits a gross amount into net and tax at a rate in basis
// points, rounding the tax half up: net + tax is always gross.
func SplitGross(gross int64, rateBP int) (net, tax int64) {
	if rateBP <= 0 {
		return gross, 0
	}
	r := int64(rateBP)
	tax = (gross*r*2 + (10000 + r)) / (2 * (10000 + r))
	return gross - tax, tax
}

// Status reads the transaction. XBezahldienste looks transactions up by
// the platform's id only: without it (a create answer that was lost) the
// call fails with ErrInvalidRequest and the flow lets the attempt expire.
func (c *Client) Status(ctx context.Context, ref payment.Ref) (payment.StatusReport, error) {
	if ref.PlatformID == "" {
		return payment.StatusReport{}, fmt.Errorf("xbezahldienste status %s: %w: transaction id required (there is no lookup by requestId)", ref, payment.ErrInvalidRequest)
	}
	body, err := c.do(ctx, http.MethodGet, c.base+"/"+url.PathEscape(ref.PlatformID), nil)
	if err != nil {
		return payment.StatusReport{}, fmt.Errorf("xbezahldienste status %s: %w", ref, err)
	}
	rep, err := parseStatus(body, c.cfg.Location)
	if err != nil {
		return payment.StatusReport{Raw: body}, fmt.Errorf("xbezahldienste status %s: %w: %w", ref, payment.ErrUnavailable, err)
	}
	return rep, nil
}

// Confirm is a no-op: XBezahldienste has no confirmation call; a PAYED
// transaction is final at the platform.
func (c *Client) Confirm(_ context.Context, ref payment.Ref, outcome payment.Outcome) error {
	if !outcome.Valid() {
		return fmt.Errorf("xbezahldienste confirm %s: %w: outcome %q", ref, payment.ErrInvalidRequest, outcome)
	}
	return nil
}

// Refund answers payment.ErrManualRefund (the standard has no refund),
// unless SimulatorRefunds sends it to the simulator's extension.
func (c *Client) Refund(ctx context.Context, req payment.RefundRequest) (payment.RefundRef, error) {
	if !c.cfg.SimulatorRefunds {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w", req.Ref, payment.ErrManualRefund)
	}
	if err := req.Validate(); err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w", req.Ref, err)
	}
	if req.Ref.PlatformID == "" {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w: transaction id required", req.Ref, payment.ErrInvalidRequest)
	}
	body, err := c.do(ctx, http.MethodPost, c.base+"/"+url.PathEscape(req.Ref.PlatformID)+"/refund",
		RefundRequest{RefundID: req.RefundID, Amount: Amount(req.AmountCents), Reason: Description(req.Reason)})
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w", req.Ref, err)
	}
	ref, err := parseRefund(body)
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w: %w", req.Ref, payment.ErrUnavailable, err)
	}
	return ref, nil
}

// Health asks the platform's status endpoint: 200 is up; 403 (we are
// not allowed), 503 and everything else are errors.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, c.status, nil)
	if err != nil {
		return fmt.Errorf("xbezahldienste status endpoint: %w", err)
	}
	return nil
}

// APIError is an error answer of the platform, with the problem details
// it carried.
type APIError struct {
	HTTPStatus int
	Problem    Problem
}

func (e *APIError) Error() string {
	code := e.Problem.FunctionalCode
	if code == "" {
		code = "no functionalCode"
	}
	msg := strings.TrimSpace(e.Problem.Title + " " + e.Problem.Detail)
	return fmt.Sprintf("xbezahldienste HTTP %d %s: %s", e.HTTPStatus, code, msg)
}

// Is maps the answer onto the payment sentinels. The functionalCode
// decides where there is one:
//
//   - PAYMENT_EXISTS, CALCULATION_ERROR, BOOKING_DATA_MISSING,
//     VALIDATION_ERROR, NO_VALID_ORIGINATOR_OR_ENDPOINT → ErrRejected (the
//     same request will fail again);
//   - FORBIDDEN → ErrUnavailable (credentials or rights, fixed by
//     configuration; then a retry succeeds);
//   - UNSPECIFIED and none → by HTTP status: 404 → ErrNotFound, 401, 403,
//     408, 429 and 5xx → ErrUnavailable, other 4xx → ErrRejected.
//
// 502 and 504 (a gateway gave up) also match ErrOutcomeUnknown.
func (e *APIError) Is(target error) bool {
	if target == payment.ErrOutcomeUnknown {
		// A gateway between us and the platform gave up waiting: the
		// platform may have carried the request out.
		return e.HTTPStatus == http.StatusBadGateway || e.HTTPStatus == http.StatusGatewayTimeout
	}
	var want error
	switch e.Problem.FunctionalCode {
	case CodePaymentExists, CodeCalculationError, CodeBookingDataMissing, CodeValidationError, CodeNoValidOriginator:
		want = payment.ErrRejected
	case CodeForbidden:
		want = payment.ErrUnavailable
	default:
		s := e.HTTPStatus
		switch {
		case s == http.StatusNotFound:
			want = payment.ErrNotFound
		case s == 401 || s == 403 || s == 408 || s == 429 || s >= 500:
			want = payment.ErrUnavailable
		default:
			want = payment.ErrRejected
		}
	}
	return target == want
}

func (c *Client) do(ctx context.Context, method, u string, in any) ([]byte, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("marshal request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Accept", "application/json, "+ProblemContentType)
	if in != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Username != "" {
		hreq.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	start := time.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		c.log.WarnContext(ctx, "platform call failed", "method", method, "duration", time.Since(start), "error", err)
		return nil, payment.TransportError(method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, payment.TransportError(method+": read response", err)
	}
	c.log.DebugContext(ctx, "platform call", "method", method, "status", resp.StatusCode, "duration", time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	return nil, &APIError{HTTPStatus: resp.StatusCode, Problem: parseProblem(body)}
}
