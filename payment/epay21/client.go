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
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// maxResponse bounds how much of an answer is read; status answers are a
// few hundred bytes.
const maxResponse = 1 << 20

var mandantPattern = regexp.MustCompile(`^[0-9]{8}$`)

// Config configures a Client.
type Config struct {
	// Endpoint is the service URL, e.g.
	// https://epay-qs.ekom21.de/epay21/service/v11/ePay21Service.asmx.
	Endpoint string
	Username string // HTTP basic auth
	Password string
	Mandant  string // 8-digit AGS of the municipality (OP/Mandant)
	// MandantDesc is shown on the pay page (OP/MandantDesc).
	MandantDesc string
	App         string // our application as registered at the platform (OP/App)
	Locale      string // OP/LocaleCode; default "DE_DE"
	// ClientInfo identifies the caller (OP/ClientInfo); default
	// Mandant_App, as the public client sends it.
	ClientInfo string
	Namespace  string // default DefaultNamespace
	// GetQrCode asks InitPayment for a QR code of the pay page; the
	// answer's code is not used, the flag is sent because the service
	// expects it.
	GetQrCode bool
	// DefaultTimeoutMinutes applies when a CreateRequest has no Timeout;
	// default 30.
	DefaultTimeoutMinutes int
	// Location reads the service's zone-less timestamps; default
	// Europe/Berlin.
	Location   *time.Location
	HTTPClient *http.Client // default: a client with a 15 s timeout
	Logger     *slog.Logger // default: slog.Default()
}

// Client is a payment.Platform speaking epay21's SOAP interface (v11). It
// is safe for concurrent use. It sends no refunds: no public source shows
// a refund operation, so Refund answers payment.ErrManualRefund and the
// refund goes to finance's work list.
type Client struct {
	cfg Config
	op  opBlock
	hc  *http.Client
	log *slog.Logger
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
		cfg.Locale = "DE_DE"
	}
	if cfg.ClientInfo == "" {
		cfg.ClientInfo = cfg.Mandant + "_" + cfg.App
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.DefaultTimeoutMinutes <= 0 {
		cfg.DefaultTimeoutMinutes = 30
	}
	if cfg.Location == nil {
		cfg.Location = payment.Berlin()
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
		cfg: cfg,
		op:  opBlock{Mandant: cfg.Mandant, MandantDesc: cfg.MandantDesc, App: cfg.App, LocaleCode: cfg.Locale, ClientInfo: cfg.ClientInfo},
		hc:  hc,
		log: log.With("platform", "epay21"),
	}, nil
}

// Create calls InitPayment. Our reference is the CallerPayID; the
// Kassenzeichen travels in the purpose (the service has no field of its
// own for it), the booking data not at all.
func (c *Client) Create(ctx context.Context, req payment.CreateRequest) (payment.Created, error) {
	if err := req.Validate(); err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, err)
	}
	msg := initPayment{NS: c.cfg.Namespace, OP: c.op, Query: initQuery{
		CallerPayID:    req.Reference,
		Purpose:        req.Purpose,
		OrderDesc:      req.Description,
		Amount:         req.AmountCents,
		Currency:       req.Currency,
		ReturnURL:      req.ReturnURL,
		CancelURL:      req.CancelURL,
		Art:            "online",
		GetQrCode:      c.cfg.GetQrCode,
		PaymentTimeout: req.TimeoutMinutes(c.cfg.DefaultTimeoutMinutes),
	}}
	body, err := c.call(ctx, "InitPayment", msg)
	if err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, err)
	}
	created, err := parseInitResponse(body)
	if err != nil {
		return payment.Created{}, fmt.Errorf("epay21 create %s: %w", req.Reference, classify(err, true))
	}
	return created, nil
}

// Status calls GetPaymentStatus with our reference as SearchKey: the
// service finds payments by the caller's id, so a payment whose InitPayment
// answer was lost is found too.
func (c *Client) Status(ctx context.Context, ref payment.Ref) (payment.StatusReport, error) {
	if ref.Reference == "" {
		return payment.StatusReport{}, fmt.Errorf("epay21 status %s: %w: our reference (CallerPayID) required", ref, payment.ErrInvalidRequest)
	}
	msg := getPaymentStatus{NS: c.cfg.Namespace, OP: c.op, Query: statusQuery{SearchKey: ref.Reference, SearchMode: "normal"}}
	body, err := c.call(ctx, "GetPaymentStatus", msg)
	if err != nil {
		return payment.StatusReport{}, fmt.Errorf("epay21 status %s: %w", ref, err)
	}
	rep, err := parseStatusResponse(body, c.cfg.Location)
	if err != nil {
		return payment.StatusReport{Raw: body}, fmt.Errorf("epay21 status %s: %w", ref, classify(err, false))
	}
	return rep, nil
}

// Confirm calls ConfirmPayment with the outcome as Action.
func (c *Client) Confirm(ctx context.Context, ref payment.Ref, outcome payment.Outcome) error {
	if !outcome.Valid() {
		return fmt.Errorf("epay21 confirm %s: %w: outcome %q", ref, payment.ErrInvalidRequest, outcome)
	}
	if ref.PlatformID == "" {
		return fmt.Errorf("epay21 confirm %s: %w: PayID required", ref, payment.ErrInvalidRequest)
	}
	body, err := c.call(ctx, "ConfirmPayment", confirmPayment{NS: c.cfg.Namespace, OP: c.op,
		Query: confirmQuery{PayID: ref.PlatformID, Action: string(outcome)}})
	if err != nil {
		return fmt.Errorf("epay21 confirm %s: %w", ref, err)
	}
	if err := parseConfirmResponse(body); err != nil {
		return fmt.Errorf("epay21 confirm %s: %w", ref, classify(err, false))
	}
	return nil
}

// Refund answers payment.ErrManualRefund: epay21's refund operation is in
// no public source, so refunds are done in its back office.
func (c *Client) Refund(_ context.Context, req payment.RefundRequest) (payment.RefundRef, error) {
	return payment.RefundRef{}, fmt.Errorf("epay21 refund %s: %w", req.Ref, payment.ErrManualRefund)
}

// classify turns a parse problem into an unavailable-platform error: a
// garbled answer leaves the outcome unknown, so the caller must retry,
// not give up (and a garbled create answer may hide a payment that
// exists). Platform errors (*Error) keep their own mapping.
func classify(err error, create bool) error {
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	if create {
		return fmt.Errorf("%w: %w: %w", payment.ErrUnavailable, payment.ErrOutcomeUnknown, err)
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
	hreq.Header.Set("SOAPAction", `"`+SOAPAction(c.cfg.Namespace, op)+`"`)
	if c.cfg.Username != "" {
		hreq.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}

	start := time.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		c.log.WarnContext(ctx, "platform call failed", "op", op, "duration", time.Since(start), "error", err)
		return nil, payment.TransportError(op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, payment.TransportError(op+": read response", err)
	}
	c.log.DebugContext(ctx, "platform call", "op", op, "status", resp.StatusCode, "duration", time.Since(start))
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusInternalServerError && bytes.Contains(body, []byte("Fault")):
		return body, nil
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout:
		// A gateway gave up waiting: the service may have done it.
		return nil, fmt.Errorf("%w: %w: %s: HTTP %d", payment.ErrUnavailable, payment.ErrOutcomeUnknown, op, resp.StatusCode)
	default:
		return nil, fmt.Errorf("%w: %s: HTTP %d", payment.ErrUnavailable, op, resp.StatusCode)
	}
}

// SOAPAction is the action header value of an operation: the namespace, a
// slash, the operation.
func SOAPAction(namespace, op string) string {
	return namespace + "/" + op
}
