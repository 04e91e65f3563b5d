package scanner_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/scanner"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
)

// TestScannerOverPTY reads codes that a simulated scanner sends in small
// fragments through a real serial port, across an unplug and replug.
func TestScannerOverPTY(t *testing.T) {
	sim, err := simhw.NewScanner(simhw.ScannerOptions{Prefix: "]Q1", Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	usb := serialdev.USBID{VID: simhw.DefaultScannerUSB.VID, PID: simhw.DefaultScannerUSB.PID}
	port := serialdev.NewReconnecting(serialdev.Config{
		USB: &usb, Enumerate: simhw.Ports(sim.Device), Baud: 115200, ReadTimeout: 20 * time.Millisecond,
	}, serialdev.ReconnectOptions{RetryInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer port.Close()
	r := scanner.NewReader(port, scanner.Config{
		AIM:       true,
		Transient: func(err error) bool { return errors.Is(err, serialdev.ErrDisconnected) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if _, err := port.Port(); err != nil {
		t.Fatalf("open: %v", err)
	}
	const code = "https://termin.example.de/b/K7Q2-9XTM"
	if err := sim.ScanFragments(code, 5, 2*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != code || c.Symbology != "Q1" {
		t.Errorf("got %+v, want %q with symbology Q1", c, code)
	}

	// Half a code, then the cable is pulled: the fragment must not be
	// glued to the next code.
	if _, err := sim.Write([]byte("]Q1PARTI")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Scan("SECOND"); err != nil {
		t.Fatal(err)
	}
	if c, err = r.Next(ctx); err != nil || c.Text != "SECOND" {
		t.Fatalf("after replug: %+v, %v; want SECOND", c, err)
	}
}
