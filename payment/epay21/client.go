package epay21

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// maxResponse bounds how much of an answer is read; status answers are a
// few hundred bytes.
const maxResponse = 1 << 20

var mandantPattern = regexp.MustCompile(`^[0-9]{8}$`)

// Config configures a Client.
type Config struct {
	Endpoint  string // SOAP endpoint URL, e.g. https://epay.example/soap
	Username  string // HTTP basic auth
	Password  string
	Mandant   string // 8-digit municipal key
	App       string // our application name as registered at the platform
	Locale    string // pay-page locale; default "de_DE"
	Namespace string // operation namespace; default DefaultNamespace
	// DefaultTimeoutMinutes applies when a CreateRequest has no Timeout;
	// default 30.
	DefaultTimeoutMinutes int
	HTTPClient            *http.Client // default: a client with a 15 s timeout
	Logger                *slog.Logger // default: slog.Default()
}

// Client is a payment.Platform speaking the epay21 SOAP interface. It is
// safe for concurrent use.
type Client struct {
	cfg    Config
	caller caller
	hc     *http.Client
	log    *slog.Logger
}

var _ payment.Platform = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("epay21: endpoint required")
	}
	if !mandantPattern.MatchString(cfg.Mandant) {
		return nil, fmt.Errorf("epay21: mandant %q must be 8 digits", cfg.Mandant)
	}
	if cfg.App == "" {
		return nil, errors.New("epay21: app name required")
	}
	if cfg.Locale == "" {
		cfg.Locale = "de_DE"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.DefaultTimeoutMinutes <= 0 {
		cfg.DefaultTimeoutMinutes = 30
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{
		cfg:    cfg,
		caller: caller{Mandant: cfg.Mandant, App: cfg.App, Locale: cfg.Locale},
		hc:     hc,
		log:    log.With("platform", "epay21"),
	}, nil
}

// Create calls InitPayment.
func (c *Client) Create(ctx context.Context, req payment.CreateRequest) (payment.Created, error) {
	if err := req.Validate(); err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, err)
	}
	msg := initPayment{
		NS:     c.cfg.Namespace,
		Caller: c.caller,
		Request: initRequestBlock{
			ClientPayID:   req.Reference,
			Kassenzeichen: req.Kassenzeichen,
			Purpose:       req.Purpose,
			Description:   req.Description,
			Amount:        req.AmountCents,
			Currency:      req.Currency,
			ReturnURL:     req.ReturnURL,
			CancelURL:     req.CancelURL,
			Kind:          "online",
			Timeout:       req.TimeoutMinutes(c.cfg.DefaultTimeoutMinutes),
			BookingData:   bookingItems(req.BookingData),
		},
	}
	body, err := c.call(ctx, "InitPayment", msg)
	if err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, err)
	}
	created, err := parseInitResponse(body)
	if err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, classify(err))
	}
	return created, nil
}

// bookingItems sorts the map so the request bytes are stable (logs, tests).
func bookingItems(m map[string]string) []bookingItem {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]bookingItem, 0, len(keys))
	for _, k := range keys {
		items = append(items, bookingItem{Key: k, Value: m[k]})
	}
	return items
}

// Status calls GetPaymentStatus by PayId, or by our ClientPayId when the
// PayId is unknown (e.g. the process died between InitPayment and storing
// its answer).
func (c *Client) Status(ctx context.Context, ref payment.Ref) (payment.StatusReport, error) {
	if ref.PlatformID == "" && ref.Reference == "" {
		return payment.StatusReport{}, fmt.Errorf("epay21 status: %w: empty reference", payment.ErrInvalidRequest)
	}
	msg := getPaymentStatus{NS: c.cfg.Namespace, Caller: c.caller, PayID: ref.PlatformID}
	if ref.PlatformID == "" {
		msg.ClientPayID = ref.Reference
	}
	body, err := c.call(ctx, "GetPaymentStatus", msg)
	if err != nil {
		return payment.StatusReport{}, fmt.Errorf("epay21 status %s: %w", ref, err)
	}
	rep, err := parseStatusResponse(body)
	if err != nil {
		return payment.StatusReport{Raw: body}, fmt.Errorf("epay21 status %s: %w", ref, classify(err))
	}
	return rep, nil
}

// Confirm calls ConfirmPayment with the outcome as action.
func (c *Client) Confirm(ctx context.Context, ref payment.Ref, outcome payment.Outcome) error {
	if !outcome.Valid() {
		return fmt.Errorf("epay21 confirm %s: %w: outcome %q", ref, payment.ErrInvalidRequest, outcome)
	}
	if ref.PlatformID == "" {
		return fmt.Errorf("epay21 confirm %s: %w: PayId required", ref, payment.ErrInvalidRequest)
	}
	body, err := c.call(ctx, "ConfirmPayment", confirmPayment{
		NS: c.cfg.Namespace, Caller: c.caller, PayID: ref.PlatformID, Action: string(outcome),
	})
	if err != nil {
		return fmt.Errorf("epay21 confirm %s: %w", ref, err)
	}
	if err := parseConfirmResponse(body); err != nil {
		return fmt.Errorf("epay21 confirm %s: %w", ref, classify(err))
	}
	return nil
}

// Refund calls RefundPayment. The platform deduplicates on RefundId, so a
// retry after a timeout does not pay twice.
func (c *Client) Refund(ctx context.Context, req payment.RefundRequest) (payment.RefundRef, error) {
	if err := req.Validate(); err != nil {
		return payment.RefundRef{}, fmt.Errorf("epay21 refund %s: %w", req.Ref, err)
	}
	if req.Ref.PlatformID == "" {
		return payment.RefundRef{}, fmt.Errorf("epay21 refund %s: %w: PayId required", req.Ref, payment.ErrInvalidRequest)
	}
	body, err := c.call(ctx, "RefundPayment", refundPayment{
		NS: c.cfg.Namespace, Caller: c.caller, PayID: req.Ref.PlatformID,
		RefundID: req.RefundID, Amount: req.AmountCents, Reason: payment.SanitizePurpose(req.Reason),
	})
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("epay21 refund %s: %w", req.Ref, err)
	}
	ref, err := parseRefundResponse(body)
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("epay21 refund %s: %w", req.Ref, classify(err))
	}
	return ref, nil
}

// classify turns a parse problem into an unavailable-platform error: a
// garbled answer leaves the outcome unknown, so the caller must retry,
// not give up. Faults (*Error) keep their own mapping.
func classify(err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%w: %w", payment.ErrUnavailable, err)
}

// call posts one SOAP request and returns the response body. HTTP 200 and
// HTTP 500 (SOAP 1.1 faults) bodies are returned for parsing; transport
// errors and other statuses become ErrUnavailable.
func (c *Client) call(ctx context.Context, op string, msg any) ([]byte, error) {
	reqBody, err := marshalEnvelope(msg)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoint, bytes.NewReader(reqBody))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hreq.Header.Set("SOAPAction", `"`+c.cfg.Namespace+"#"+op+`"`)
	hreq.SetBasicAuth(c.cfg.Username, c.cfg.Password)

	start := time.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		c.log.WarnContext(ctx, "platform call failed", "op", op, "duration", time.Since(start), "error", err)
		return nil, fmt.Errorf("%w: %s: %w", payment.ErrUnavailable, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: read response: %w", payment.ErrUnavailable, op, err)
	}
	c.log.DebugContext(ctx, "platform call", "op", op, "status", resp.StatusCode, "duration", time.Since(start))
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusInternalServerError && bytes.Contains(body, []byte("Fault")):
		return body, nil
	default:
		return nil, fmt.Errorf("%w: %s: HTTP %d", payment.ErrUnavailable, op, resp.StatusCode)
	}
}
