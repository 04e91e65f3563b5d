package xbezahldienste

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	BaseURL      string // e.g. https://bezahldienst.example/api (no trailing paymenttransaction)
	OriginatorID string // our id at the platform
	EndPointID   string // e.g. the AGS of the city
	Username     string // HTTP basic auth; empty disables it
	Password     string
	HTTPClient   *http.Client // default: a client with a 15 s timeout
	Logger       *slog.Logger // default: slog.Default()
	Now          func() time.Time
}

// Client is a payment.Platform speaking XBezahldienste. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	base string
	hc   *http.Client
	log  *slog.Logger
}

var _ payment.Platform = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("xbezahldienste: base URL %q must be absolute http(s)", cfg.BaseURL)
	}
	if cfg.OriginatorID == "" || cfg.EndPointID == "" {
		return nil, errors.New("xbezahldienste: originator and endpoint id required")
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
	base := strings.TrimRight(cfg.BaseURL, "/") + "/paymenttransaction/" +
		url.PathEscape(cfg.OriginatorID) + "/" + url.PathEscape(cfg.EndPointID)
	return &Client{cfg: cfg, base: base, hc: hc, log: log.With("platform", "xbezahldienste")}, nil
}

// Create posts a payment transaction with one line item carrying the
// booking data. XBezahldienste knows a single redirect URL for every
// outcome, so req.CancelURL is not sent; the return handler must read the
// outcome from the status call anyway.
func (c *Client) Create(ctx context.Context, req payment.CreateRequest) (payment.Created, error) {
	if err := req.Validate(); err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w", req.Reference, err)
	}
	bd := make(map[string]string, len(req.BookingData)+1)
	for k, v := range req.BookingData {
		bd[k] = v
	}
	if req.Kassenzeichen != "" {
		bd["Kassenzeichen"] = req.Kassenzeichen
	}
	desc := req.Description
	if len(desc) > 250 {
		desc = desc[:250]
	}
	pr := PaymentRequest{
		RequestID:        req.Reference,
		RequestTimestamp: c.cfg.Now().UTC().Format(time.RFC3339),
		Currency:         req.Currency,
		GrosAmount:       Amount(req.AmountCents),
		Purpose:          req.Purpose,
		Description:      desc,
		RedirectURL:      req.ReturnURL,
		Items: []Item{{
			ID:              "1",
			Reference:       req.Kassenzeichen,
			Description:     req.Purpose,
			Quantity:        1,
			TotalNetAmount:  Amount(req.AmountCents),
			SingleNetAmount: Amount(req.AmountCents),
			BookingData:     bd,
		}},
	}
	body, err := c.do(ctx, http.MethodPost, c.base, pr)
	if err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w", req.Reference, err)
	}
	created, err := parseCreated(body)
	if err != nil {
		return payment.Created{}, fmt.Errorf("xbezahldienste create %s: %w: %w", req.Reference, payment.ErrUnavailable, err)
	}
	return created, nil
}

// Status reads the transaction. XBezahldienste looks transactions up by
// the platform's id only.
func (c *Client) Status(ctx context.Context, ref payment.Ref) (payment.StatusReport, error) {
	if ref.PlatformID == "" {
		return payment.StatusReport{}, fmt.Errorf("xbezahldienste status %s: %w: transaction id required", ref, payment.ErrInvalidRequest)
	}
	body, err := c.do(ctx, http.MethodGet, c.base+"/"+url.PathEscape(ref.PlatformID), nil)
	if err != nil {
		return payment.StatusReport{}, fmt.Errorf("xbezahldienste status %s: %w", ref, err)
	}
	rep, err := parseStatus(body)
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

// Refund calls the refund extension (simulator only; see the package doc).
func (c *Client) Refund(ctx context.Context, req payment.RefundRequest) (payment.RefundRef, error) {
	if err := req.Validate(); err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w", req.Ref, err)
	}
	if req.Ref.PlatformID == "" {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w: transaction id required", req.Ref, payment.ErrInvalidRequest)
	}
	body, err := c.do(ctx, http.MethodPost, c.base+"/"+url.PathEscape(req.Ref.PlatformID)+"/refund",
		RefundRequest{RefundID: req.RefundID, Amount: Amount(req.AmountCents), Reason: req.Reason})
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w", req.Ref, err)
	}
	ref, err := parseRefund(body)
	if err != nil {
		return payment.RefundRef{}, fmt.Errorf("xbezahldienste refund %s: %w: %w", req.Ref, payment.ErrUnavailable, err)
	}
	return ref, nil
}

// APIError is an error answer from the platform.
type APIError struct {
	HTTPStatus int
	Code       string
	Message    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("xbezahldienste HTTP %d %s: %s", e.HTTPStatus, e.Code, e.Message)
}

// Is maps HTTP statuses onto the payment sentinels: 404 → ErrNotFound,
// other 4xx except auth → ErrRejected, 401/403/429/5xx → ErrUnavailable.
func (e *APIError) Is(target error) bool {
	s := e.HTTPStatus
	switch target {
	case payment.ErrNotFound:
		return s == http.StatusNotFound
	case payment.ErrRejected:
		return s >= 400 && s < 500 && s != 404 && s != 401 && s != 403 && s != 429
	case payment.ErrUnavailable:
		return s == 401 || s == 403 || s == 429 || s >= 500
	}
	return false
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
	hreq.Header.Set("Accept", "application/json")
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
		return nil, fmt.Errorf("%w: %w", payment.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: read response: %w", payment.ErrUnavailable, err)
	}
	c.log.DebugContext(ctx, "platform call", "method", method, "status", resp.StatusCode, "duration", time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, nil
	}
	ae := &APIError{HTTPStatus: resp.StatusCode}
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil {
		ae.Code, ae.Message = eb.ErrorCode, eb.ErrorMessage
	}
	return nil, ae
}
