package simhw

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/digitale-verwaltung/termin/printer"
)

// DefaultPrinterUSB is the USB identity of a simulated printer.
var DefaultPrinterUSB = USB{VID: "04B8", PID: "0202", Serial: "SIM-PRINTER"}

// PrinterOptions configure a simulated printer.
type PrinterOptions struct {
	// Dir, if set, receives a PNG of every printed ticket
	// (ticket-001.png, …).
	Dir string
	// PaperWidth in dots; zero means printer.Paper80mm.
	PaperWidth int
	// USB identity; zero means DefaultPrinterUSB.
	USB USB
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Printer is a simulated ESC/POS receipt printer. It answers DLE EOT
// status queries with the status set by SetStatus, and while that status
// has an error (paper out, cover open, …) it discards print data as a
// real printer in that state would. Each cut finishes a ticket, which is
// decoded and, with Dir set, rendered to a PNG.
type Printer struct {
	*Device
	opts PrinterOptions
	n    notifier

	mu       sync.Mutex
	status   printer.Status
	pending  []byte // bytes of a command not yet complete
	job      []byte // commands since the last cut
	receipts []printer.Receipt
	files    []string
}

// NewPrinter plugs in a simulated printer.
func NewPrinter(opts PrinterOptions) (*Printer, error) {
	if opts.USB == (USB{}) {
		opts.USB = DefaultPrinterUSB
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("simhw: printer output dir: %w", err)
		}
	}
	p := &Printer{opts: opts}
	d, err := newDevice(opts.USB, p.receive)
	if err != nil {
		return nil, err
	}
	p.Device = d
	return p, nil
}

// SetStatus sets what the printer reports, e.g.
// printer.Status{PaperEnd: true, PaperEndStop: true, Offline: true}.
func (p *Printer) SetStatus(s printer.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = s
}

// PaperOut is a shortcut for the status of a printer whose roll ran out.
func PaperOut() printer.Status {
	return printer.Status{Offline: true, PaperEnd: true, PaperEndStop: true, Error: true}
}

// Receipts returns the tickets printed so far (each ended by a cut).
func (p *Printer) Receipts() []printer.Receipt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]printer.Receipt(nil), p.receipts...)
}

// Images returns the paths of the PNGs written so far.
func (p *Printer) Images() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.files...)
}

// WaitReceipts waits until at least n tickets were printed and returns
// them all.
func (p *Printer) WaitReceipts(ctx context.Context, n int) ([]printer.Receipt, error) {
	err := p.n.wait(ctx, func() bool { return len(p.Receipts()) >= n })
	if err != nil {
		return p.Receipts(), fmt.Errorf("simhw: waiting for %d tickets: %w", n, err)
	}
	return p.Receipts(), nil
}

// receive interprets bytes from the kiosk command by command, so a DLE
// EOT inside QR or raster data is not mistaken for a query. It answers
// through d rather than p.Device, which is set only after the read loop
// has started.
func (p *Printer) receive(d *Device, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, b...)
	for {
		n := printer.CommandLen(p.pending)
		if n == 0 {
			break
		}
		cmd := p.pending[:n]
		p.pending = p.pending[n:]
		switch {
		case n == 3 && cmd[0] == printer.DLE && cmd[1] == printer.EOT:
			// Real-time: answered at once, even while offline.
			if _, err := d.Write([]byte{p.status.Reply(printer.Query(cmd[2]))}); err != nil {
				p.opts.Logger.Warn("simulated printer: status reply", "err", err)
			}
		case p.status.Err() != nil:
			// Offline: the data is lost.
		default:
			p.job = append(p.job, cmd...)
			if cmd[0] == printer.GS && cmd[1] == 'V' {
				p.finishTicket()
			}
		}
	}
	if len(p.pending) == 0 {
		p.pending = nil // let the backing array go
	}
}

// finishTicket decodes and renders the job up to the cut. Called with mu
// held.
func (p *Printer) finishTicket() {
	job := p.job
	p.job = nil
	var imgs []image.Image
	if p.opts.Dir != "" {
		imgs = printer.RenderReceipts(job, printer.RenderOptions{PaperWidth: p.opts.PaperWidth})
	}
	for i, r := range printer.Decode(job) {
		p.receipts = append(p.receipts, r)
		if i >= len(imgs) {
			continue
		}
		path := filepath.Join(p.opts.Dir, fmt.Sprintf("ticket-%03d.png", len(p.receipts)))
		if err := writePNG(path, imgs[i]); err != nil {
			p.opts.Logger.Warn("simulated printer: write ticket image", "err", err)
			continue
		}
		p.files = append(p.files, path)
	}
	p.n.signal()
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
