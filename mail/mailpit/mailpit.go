// Package mailpit reads the mail a test sent from Mailpit's REST API
// (/api/v1/...), and starts a private Mailpit for tests that need one of
// their own (chaos: SMTP errors on demand). deploy/stack.sh start writes
// MAILPIT_URL, SMTP_ADDR and MAILPIT_BIN into its env file.
package mailpit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Client talks to one Mailpit.
type Client struct {
	// Base is the web UI and API base, e.g. http://127.0.0.1:8025.
	Base string
	// SMTPAddr is where it accepts mail.
	SMTPAddr string
	HTTP     *http.Client
}

// FromEnv returns the Mailpit of the environment (MAILPIT_URL, SMTP_ADDR).
// Without it the test is skipped, or fails when TERMIN_REQUIRE_SERVICES=1.
func FromEnv(t testing.TB) *Client {
	t.Helper()
	base, smtp := os.Getenv("MAILPIT_URL"), os.Getenv("SMTP_ADDR")
	if base == "" || smtp == "" {
		if os.Getenv("TERMIN_REQUIRE_SERVICES") == "1" {
			t.Fatal("MAILPIT_URL and SMTP_ADDR are not set: run deploy/stack.sh start DIR and . DIR/env")
		}
		t.Skip("no Mailpit: MAILPIT_URL and SMTP_ADDR not set (deploy/stack.sh start DIR)")
	}
	return &Client{Base: base, SMTPAddr: smtp, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Start runs a private Mailpit from MAILPIT_BIN on free loopback ports
// for the test, with chaos enabled; it is stopped when the test ends.
func Start(t testing.TB) *Client {
	t.Helper()
	bin := os.Getenv("MAILPIT_BIN")
	if bin == "" {
		if os.Getenv("TERMIN_REQUIRE_SERVICES") == "1" {
			t.Fatal("MAILPIT_BIN is not set: run deploy/stack.sh start DIR and . DIR/env")
		}
		t.Skip("no Mailpit binary: MAILPIT_BIN not set (deploy/stack.sh start DIR)")
	}
	smtp, http := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--smtp", smtp, "--listen", http,
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--enable-chaos", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := &Client{Base: "http://" + http, SMTPAddr: smtp, HTTP: newHTTPClient()}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info struct{ Version string }
		if err := c.get(context.Background(), "/api/v1/info", &info); err == nil {
			if conn, err := net.Dial("tcp", smtp); err == nil {
				conn.Close()
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start on %s / %s", smtp, http)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newHTTPClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Address is a mailbox as Mailpit reports it.
type Address struct {
	Name    string
	Address string
}

// Summary is one message of a list.
type Summary struct {
	ID          string
	MessageID   string
	From        *Address
	To          []Address
	Subject     string
	Created     time.Time
	Attachments int
}

// Attachment is one attached part.
type Attachment struct {
	PartID      string
	FileName    string
	ContentType string
	Size        int
}

// Message is one message in full.
type Message struct {
	ID          string
	MessageID   string
	From        *Address
	To          []Address
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
}

// Search lists the messages matching a Mailpit search query (for example
// `to:"anna@example.org"`), newest first.
func (c *Client) Search(ctx context.Context, query string) ([]Summary, error) {
	var res struct{ Messages []Summary }
	err := c.get(ctx, "/api/v1/search?limit=1000&query="+url.QueryEscape(query), &res)
	return res.Messages, err
}

// Messages lists the newest messages.
func (c *Client) Messages(ctx context.Context) ([]Summary, error) {
	var res struct{ Messages []Summary }
	err := c.get(ctx, "/api/v1/messages?limit=1000", &res)
	return res.Messages, err
}

// Message returns one message with its text, HTML and attachment list.
func (c *Client) Message(ctx context.Context, id string) (*Message, error) {
	var m Message
	if err := c.get(ctx, "/api/v1/message/"+url.PathEscape(id), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Headers returns a message's headers.
func (c *Client) Headers(ctx context.Context, id string) (map[string][]string, error) {
	var h map[string][]string
	err := c.get(ctx, "/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h, err
}

// Part returns an attachment's bytes.
func (c *Client) Part(ctx context.Context, id, partID string) ([]byte, error) {
	body, err := c.do(ctx, http.MethodGet, "/api/v1/message/"+url.PathEscape(id)+"/part/"+url.PathEscape(partID), nil)
	if err != nil {
		return nil, err
	}
	return body, nil
}

// DeleteAll empties the mailbox.
func (c *Client) DeleteAll(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/messages", []byte(`{"IDs":[]}`))
	return err
}

// Chaos sets the probability (0–100) of Mailpit answering RCPT TO with
// code: 451 for a temporary failure, 550 for a permanent one. Only on a
// Mailpit started with Start.
func (c *Client) Chaos(ctx context.Context, code, probability int) error {
	body := fmt.Sprintf(`{"Recipient":{"ErrorCode":%d,"Probability":%d}}`, code, probability)
	_, err := c.do(ctx, http.MethodPut, "/api/v1/chaos", []byte(body))
	return err
}

// WaitFor polls the search until at least n messages match or ctx ends.
func (c *Client) WaitFor(ctx context.Context, query string, n int) ([]Summary, error) {
	for {
		msgs, err := c.Search(ctx, query)
		if err == nil && len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d of %d messages for %s", len(msgs), n, query)
			}
			return msgs, fmt.Errorf("wait for mail: %w (%v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) get(ctx context.Context, path string, into any) error {
	body, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("mailpit %s: %w", path, err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = newHTTPClient()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("mailpit %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data[:min(len(data), 200)]))
	}
	return data, nil
}
