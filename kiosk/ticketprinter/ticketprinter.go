// Package ticketprinter drives an ESC/POS receipt printer over a serial
// port: it checks the real-time status before printing, writes the
// ticket and checks again afterwards.
package ticketprinter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/printer"
)

// ErrNoReply reports that the printer did not answer a status query in
// time: it is off, unplugged, or does not support DLE EOT.
var ErrNoReply = errors.New("ticketprinter: no status reply")

// DefaultTimeout bounds each status query.
const DefaultTimeout = 500 * time.Millisecond

// NotReadyError says the printer reported a fault. It wraps the
// printer.Err* sentinels, so errors.Is(err, printer.ErrPaperEnd) works.
type NotReadyError struct {
	Status printer.Status
	// Printed is set when the fault appeared after the ticket was sent,
	// so the ticket may be missing or incomplete.
	Printed bool
}

func (e *NotReadyError) Error() string {
	when := "before printing"
	if e.Printed {
		when = "after printing"
	}
	return fmt.Sprintf("ticketprinter: printer not ready %s: %v", when, e.Status.Err())
}

func (e *NotReadyError) Unwrap() error { return e.Status.Err() }

// Client talks to one printer. Its methods are safe for concurrent use;
// they run one at a time.
type Client struct {
	port    io.ReadWriter
	timeout time.Duration
	opts    printer.Options

	mu sync.Mutex
}

// Options configure a Client.
type Options struct {
	// Timeout bounds each status query; zero means DefaultTimeout.
	Timeout time.Duration
	// Encoder options for PrintTicket (paper width, QR mode).
	Encoder printer.Options
}

// New returns a Client on port, which must have a read timeout (reads
// returning (0, nil)) so a silent printer cannot block a query forever;
// serialdev ports have one.
func New(port io.ReadWriter, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Client{port: port, timeout: opts.Timeout, opts: opts.Encoder}
}

// Status asks the printer for all four real-time statuses.
func (c *Client) Status(ctx context.Context) (printer.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status(ctx)
}

// PrintTicket encodes t and prints it.
func (c *Client) PrintTicket(ctx context.Context, t printer.Ticket) error {
	data, err := printer.EncodeTicket(t, c.opts)
	if err != nil {
		return fmt.Errorf("ticketprinter: encode ticket %s: %w", t.Number, err)
	}
	return c.Print(ctx, data)
}

// Print checks that the printer is ready, writes data and checks the
// status again. A fault is returned as *NotReadyError.
func (c *Client) Print(ctx context.Context, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	if st.Err() != nil {
		return &NotReadyError{Status: st}
	}
	if _, err := c.port.Write(data); err != nil {
		return fmt.Errorf("ticketprinter: write %d bytes: %w", len(data), err)
	}
	// DLE EOT is answered as soon as it arrives, even while the ticket is
	// still printing: this catches a fault present once the ticket has
	// been received (the roll ran out on it), not one later in the run.
	st, err = c.status(ctx)
	if err != nil {
		return fmt.Errorf("ticketprinter: after printing: %w", err)
	}
	if st.Err() != nil {
		return &NotReadyError{Status: st, Printed: true}
	}
	return nil
}

func (c *Client) status(ctx context.Context) (printer.Status, error) {
	var st printer.Status
	for _, q := range printer.AllQueries {
		b, err := c.query(ctx, q)
		if err != nil {
			return st, err
		}
		if err := st.Apply(q, b); err != nil {
			return st, fmt.Errorf("ticketprinter: %w", err)
		}
	}
	return st, nil
}

// query sends DLE EOT q and returns the first byte shaped like a reply;
// other bytes (Automatic Status Back messages, leftovers) are skipped.
func (c *Client) query(ctx context.Context, q printer.Query) (byte, error) {
	if _, err := c.port.Write(printer.StatusQuery(q)); err != nil {
		return 0, fmt.Errorf("ticketprinter: send DLE EOT %d: %w", q, err)
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var b [1]byte
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, err := c.port.Read(b[:])
		if err != nil {
			return 0, fmt.Errorf("ticketprinter: read DLE EOT %d reply: %w", q, err)
		}
		if n == 1 && printer.IsStatusReply(b[0]) {
			return b[0], nil
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w to DLE EOT %d within %v", ErrNoReply, q, c.timeout)
}
