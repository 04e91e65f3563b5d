package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// APIError is an error answer of the server ({"error": {...}}): a stable
// code and messages in English and German.
type APIError struct {
	Status    int    `json:"-"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageDE string `json:"message_de"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsAPIError reports whether err is an answer of the server (as opposed
// to the server being unreachable) and returns it.
func IsAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}

// Client talks to the termin server's device API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the server at base. HTTPS uses the
// system's root certificates.
func NewClient(base, token string) *Client {
	return &Client{base: base, token: token, http: &http.Client{Timeout: 15 * time.Second}}
}

// Device is the server's view of this device.
type Device struct {
	ID       string `json:"id"`
	Location string `json:"location"`
	Name     string `json:"name"`
	Mode     string `json:"mode"`
}

// Location is the device's location.
type Location struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// Service is a service offered at the location.
type Service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ServerConfig is GET /kiosk/config; it is cached in the state dir so the
// agent starts, and a gate verifies tickets, without the network.
type ServerConfig struct {
	Device    Device    `json:"device"`
	Location  Location  `json:"location"`
	Services  []Service `json:"services"`
	PublicKey string    `json:"public_key"`
	// Keys are every key a ticket may be signed with now; a server of
	// before key rotation sends only PublicKey.
	Keys             []TicketKey `json:"keys,omitempty"`
	GateEarlySeconds int         `json:"gate_early_seconds"`
	GateLateSeconds  int         `json:"gate_late_seconds"`
	// Revoked are, for a gate, the codes of cancelled bookings, read at
	// RevokedAt (nil: the server sent no list).
	Revoked   []string   `json:"revoked,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// QueueTicket is a drawn queue number.
type QueueTicket struct {
	ID                   int64     `json:"id"`
	Number               string    `json:"number"`
	Location             string    `json:"location"`
	LocationName         string    `json:"location_name"`
	Service              string    `json:"service"`
	ServiceName          string    `json:"service_name"`
	Ahead                int       `json:"ahead"`
	EstimatedWaitMinutes int       `json:"estimated_wait_minutes"`
	CreatedAt            time.Time `json:"created_at"`
	Appointment          string    `json:"appointment"`
}

// Redemption is one entrance scan sent to the server.
type Redemption struct {
	QR        string    `json:"qr"`
	Nonce     string    `json:"nonce"`
	ScannedAt time.Time `json:"scanned_at"`
	Offline   bool      `json:"offline"`
}

// RedemptionResult is the server's answer for one scan.
type RedemptionResult struct {
	Nonce          string     `json:"nonce"`
	Result         string     `json:"result"` // admitted, refused or flagged
	Code           string     `json:"code"`
	Reason         string     `json:"reason"`
	FirstScannedAt *time.Time `json:"first_scanned_at"`
}

// Enroll exchanges an enrollment code for a device token.
func (c *Client) Enroll(ctx context.Context, code string) (token string, d Device, err error) {
	var out struct {
		Device Device `json:"device"`
		Token  string `json:"token"`
	}
	err = c.do(ctx, "POST", "/api/v1/devices/enroll", map[string]string{"code": code}, &out)
	return out.Token, out.Device, err
}

// Config fetches the device's configuration.
func (c *Client) Config(ctx context.Context) (ServerConfig, error) {
	var out ServerConfig
	err := c.do(ctx, "GET", "/api/v1/kiosk/config", nil, &out)
	return out, err
}

// Heartbeat reports the device's state.
func (c *Client) Heartbeat(ctx context.Context, version string, status any) error {
	return c.do(ctx, "POST", "/api/v1/kiosk/heartbeat", map[string]any{"version": version, "status": status}, nil)
}

// WalkIn draws a number for a visitor without an appointment.
func (c *Client) WalkIn(ctx context.Context, service string) (QueueTicket, error) {
	var out QueueTicket
	err := c.do(ctx, "POST", "/api/v1/kiosk/walk-ins", map[string]string{"service": service}, &out)
	return out, err
}

// CheckIn turns an appointment, given by its QR payload or booking code,
// into a queue number.
func (c *Client) CheckIn(ctx context.Context, qr, code string) (QueueTicket, error) {
	var out QueueTicket
	body := map[string]string{"qr": qr}
	if qr == "" {
		body = map[string]string{"code": code}
	}
	err := c.do(ctx, "POST", "/api/v1/kiosk/check-ins", body, &out)
	return out, err
}

// Redeem records entrance scans; the server deduplicates by nonce.
func (c *Client) Redeem(ctx context.Context, rs []Redemption) ([]RedemptionResult, error) {
	var out struct {
		Results []RedemptionResult `json:"results"`
	}
	err := c.do(ctx, "POST", "/api/v1/kiosk/redemptions", map[string]any{"redemptions": rs}, &out)
	if err == nil && len(out.Results) != len(rs) {
		err = fmt.Errorf("server: %d results for %d redemptions", len(out.Results), len(rs))
	}
	return out.Results, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("server unreachable: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("server: read %s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		var wrapped struct {
			Error *APIError `json:"error"`
		}
		ae := &APIError{}
		wrapped.Error = ae
		if json.Unmarshal(b, &wrapped) != nil || ae.Code == "" {
			ae.Code, ae.Message = "http_"+fmt.Sprint(res.StatusCode), string(bytes.TrimSpace(b))
		}
		ae.Status = res.StatusCode
		return ae
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("server: decode %s %s: %w", method, path, err)
	}
	return nil
}

// RegisterDevice registers a device at a location through the admin API
// and returns its one-time enrollment code. It is what an administrator
// does before installing a kiosk; the simulated kiosk and tests use it.
func RegisterDevice(ctx context.Context, server, adminKey, location, name, mode string) (Device, string, error) {
	var out struct {
		Device         Device `json:"device"`
		EnrollmentCode string `json:"enrollment_code"`
	}
	c := NewClient(server, adminKey)
	err := c.do(ctx, "POST", "/api/v1/admin/devices", map[string]string{"location": location, "name": name, "mode": mode}, &out)
	return out.Device, out.EnrollmentCode, err
}

// TicketKey is one key of the server's QR ticket signatures.
type TicketKey struct {
	ID        int64  `json:"id"`
	PublicKey string `json:"public_key"`
	Active    bool   `json:"active"`
	// VerifyUntil is when a retired key stops verifying.
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
}
