package ticketprinter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	"github.com/digitale-verwaltung/termin/kiosk/ticketprinter"
	"github.com/digitale-verwaltung/termin/printer"
	"go.bug.st/serial"
)

// setup plugs in a simulated printer and opens it through a real serial
// port.
func setup(t *testing.T, dir string) (*simhw.Printer, *ticketprinter.Client) {
	t.Helper()
	sim, err := simhw.NewPrinter(simhw.PrinterOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	port, err := serialdev.Open(serialdev.Config{Name: sim.PortName(), Baud: 19200, ReadTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return sim, ticketprinter.New(port, ticketprinter.Options{})
}

var ticket = printer.Ticket{
	Header: []string{"Bürgeramt Mitte"},
	Number: "A017",
	Lines:  []string{"Personalausweis", "Gebühr 37,00 €"},
	QR:     "https://termin.example.de/b/K7Q2-9XTM",
}

func TestPrintTicket(t *testing.T) {
	dir := t.TempDir()
	sim, c := setup(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if err := c.PrintTicket(ctx, ticket); err != nil {
		t.Fatalf("PrintTicket: %v", err)
	}
	rs, err := sim.WaitReceipts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := rs[0]
	if got.Lines[1].Text != "A017" || got.Lines[3].Text != "Gebühr 37,00 €" {
		t.Errorf("printed lines:\n%s", got.Text())
	}
	if len(got.QR) != 1 || got.QR[0] != ticket.QR {
		t.Errorf("QR = %q, want %q", got.QR, ticket.QR)
	}
	imgs := sim.Images()
	if len(imgs) != 1 || filepath.Dir(imgs[0]) != dir {
		t.Fatalf("images = %v", imgs)
	}
	if fi, err := os.Stat(imgs[0]); err != nil || fi.Size() == 0 {
		t.Errorf("ticket image: %v", err)
	}
}

func TestPaperOut(t *testing.T) {
	sim, c := setup(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sim.SetStatus(simhw.PaperOut())

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if !st.PaperEnd || !st.Offline {
		t.Errorf("status = %+v, want paper end and offline", st)
	}

	err = c.PrintTicket(ctx, ticket)
	var nr *ticketprinter.NotReadyError
	if !errors.As(err, &nr) || nr.Printed || !errors.Is(err, printer.ErrPaperEnd) {
		t.Fatalf("PrintTicket err = %v, want NotReadyError before printing wrapping ErrPaperEnd", err)
	}

	// Paper back in: printing works again.
	sim.SetStatus(printer.Status{})
	if err := c.PrintTicket(ctx, ticket); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	if rs, err := sim.WaitReceipts(ctx, 1); err != nil || len(rs) != 1 {
		t.Errorf("receipts = %d, %v; want exactly the one after the refill", len(rs), err)
	}
}

func TestNoReply(t *testing.T) {
	// A scanner never answers DLE EOT.
	mute, err := simhw.NewScanner(simhw.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	port, err := serial.Open(mute.PortName(), &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if err := port.SetReadTimeout(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c := ticketprinter.New(port, ticketprinter.Options{Timeout: 100 * time.Millisecond})
	if _, err := c.Status(context.Background()); !errors.Is(err, ticketprinter.ErrNoReply) {
		t.Errorf("err = %v, want ErrNoReply", err)
	}
}
