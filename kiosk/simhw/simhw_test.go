package simhw_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
	"github.com/digitale-verwaltung/termin/kiosk/ticketprinter"
	"github.com/digitale-verwaltung/termin/printer"
)

// Example shows the usual test setup: a simulated printer, a port opened
// on it as on real hardware, and assertions on what was printed.
func Example() {
	sim, err := simhw.NewPrinter(simhw.PrinterOptions{Dir: "/tmp/tickets"})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	port, err := serialdev.Open(serialdev.Config{Name: sim.PortName()})
	if err != nil {
		panic(err)
	}
	defer port.Close()

	ctx := context.Background()
	c := ticketprinter.New(port, ticketprinter.Options{})
	if err := c.PrintTicket(ctx, printer.Ticket{Number: "A017", QR: "K7Q2"}); err != nil {
		panic(err)
	}
	rs, _ := sim.WaitReceipts(ctx, 1)
	fmt.Println(rs[0].Text(), rs[0].QR, sim.Images())
}

// TestStatusQueryOnlyBetweenCommands sends a QR payload containing the
// bytes of DLE EOT 1: the simulated printer must treat them as data.
func TestStatusQueryOnlyBetweenCommands(t *testing.T) {
	sim, err := simhw.NewPrinter(simhw.PrinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	port, err := serialdev.Open(serialdev.Config{Name: sim.PortName(), ReadTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()

	payload := "a\x10\x04\x01b"
	data, err := printer.NewEncoder(printer.Options{}).Init().QR(payload).Cut(0).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	// Send it in two writes that split the payload, as a UART might.
	half := len(data) / 2
	for _, part := range [][]byte{data[:half], data[half:]} {
		if _, err := port.Write(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rs, err := sim.WaitReceipts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs[0].QR) != 1 || rs[0].QR[0] != payload {
		t.Errorf("QR = %q, want %q", rs[0].QR, payload)
	}
	if n, _ := port.Read(make([]byte, 8)); n != 0 {
		t.Errorf("printer sent %d unexpected bytes", n)
	}
}

// TestPrinterReplug prints through a reconnecting port before and after
// the printer is unplugged.
func TestPrinterReplug(t *testing.T) {
	sim, err := simhw.NewPrinter(simhw.PrinterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	usb := serialdev.USBID{VID: simhw.DefaultPrinterUSB.VID, PID: simhw.DefaultPrinterUSB.PID, Serial: simhw.DefaultPrinterUSB.Serial}
	port := serialdev.NewReconnecting(serialdev.Config{
		USB: &usb, Enumerate: simhw.Ports(sim.Device), ReadTimeout: 20 * time.Millisecond,
	}, serialdev.ReconnectOptions{RetryInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer port.Close()
	c := ticketprinter.New(port, ticketprinter.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if err := c.PrintTicket(ctx, printer.Ticket{Number: "A001"}); err != nil {
		t.Fatalf("first ticket: %v", err)
	}
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := c.PrintTicket(ctx, printer.Ticket{Number: "A002"}); !errors.Is(err, serialdev.ErrDisconnected) {
		t.Fatalf("while unplugged: err = %v, want ErrDisconnected", err)
	}
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	// The kiosk retries until the port is back.
	for {
		err := c.PrintTicket(ctx, printer.Ticket{Number: "A002"})
		if err == nil {
			break
		}
		if !errors.Is(err, serialdev.ErrDisconnected) {
			t.Fatalf("after replug: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("printer not back: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	rs, err := sim.WaitReceipts(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Text() != "A001" || rs[1].Text() != "A002" {
		t.Errorf("printed %q and %q", rs[0].Text(), rs[1].Text())
	}
	if n := len(sim.Images()); n != 2 {
		t.Errorf("%d images, want 2", n)
	}
}
