package serialdev_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"

	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
)

func TestParseUSBID(t *testing.T) {
	tests := []struct {
		in      string
		want    serialdev.USBID
		wantErr bool
	}{
		{"0483:5740", serialdev.USBID{VID: "0483", PID: "5740"}, false},
		{"04b8:0e28:ABC123", serialdev.USBID{VID: "04B8", PID: "0E28", Serial: "ABC123"}, false},
		{"04b8", serialdev.USBID{}, true},
		{"04b8:xyz1", serialdev.USBID{}, true},
		{"/dev/ttyUSB0", serialdev.USBID{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := serialdev.ParseUSBID(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseUSBID(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	ports := []*enumerator.PortDetails{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "0c2e", PID: "0b61", SerialNumber: "S1"},
		{Name: "/dev/ttyACM1", IsUSB: true, VID: "0C2E", PID: "0B61", SerialNumber: "S2"},
	}
	enum := func() ([]*enumerator.PortDetails, error) { return ports, nil }
	failing := func() ([]*enumerator.PortDetails, error) { return nil, errors.New("no sysfs") }
	tests := []struct {
		name    string
		cfg     serialdev.Config
		want    string
		wantErr error
	}{
		{"by name", serialdev.Config{Name: "/dev/ttyUSB3"}, "/dev/ttyUSB3", nil},
		{"first of a model", serialdev.Config{USB: &serialdev.USBID{VID: "0C2E", PID: "0B61"}, Enumerate: enum}, "/dev/ttyACM0", nil},
		{"by serial", serialdev.Config{USB: &serialdev.USBID{VID: "0C2E", PID: "0B61", Serial: "S2"}, Enumerate: enum}, "/dev/ttyACM1", nil},
		{"missing", serialdev.Config{USB: &serialdev.USBID{VID: "1234", PID: "5678"}, Enumerate: enum}, "", serialdev.ErrNotFound},
		{"enumerator fails", serialdev.Config{USB: &serialdev.USBID{VID: "1234", PID: "5678"}, Enumerate: failing}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Resolve()
			if got != tt.want {
				t.Errorf("Resolve() = %q, want %q", got, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want == "" && err == nil {
				t.Error("want an error")
			}
		})
	}
}

// readUntil reads from r until the bytes read contain want.
func readUntil(t *testing.T, r io.Reader, want string, timeout time.Duration) {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n, _ := r.Read(buf)
		got = append(got, buf[:n]...)
		if bytes.Contains(got, []byte(want)) {
			return
		}
	}
	t.Fatalf("read %q, want it to contain %q", got, want)
}

func TestReconnectingRecoversAfterReplug(t *testing.T) {
	sc, err := simhw.NewScanner(simhw.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	usb := serialdev.USBID{VID: simhw.DefaultScannerUSB.VID, PID: simhw.DefaultScannerUSB.PID}
	port := serialdev.NewReconnecting(serialdev.Config{
		USB: &usb, Enumerate: simhw.Ports(sc.Device), Baud: 115200, ReadTimeout: 20 * time.Millisecond,
	}, serialdev.ReconnectOptions{RetryInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer port.Close()

	// First use opens the port; then the device talks.
	if _, err := port.Read(make([]byte, 1)); err != nil {
		t.Fatalf("first read: %v", err)
	}
	first := sc.PortName()
	if err := sc.Scan("BEFORE"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, port, "BEFORE", 2*time.Second)

	if err := sc.Unplug(); err != nil {
		t.Fatal(err)
	}
	// The next read notices the loss.
	var lost error
	for deadline := time.Now().Add(2 * time.Second); lost == nil && time.Now().Before(deadline); {
		_, lost = port.Read(make([]byte, 16))
	}
	if !errors.Is(lost, serialdev.ErrDisconnected) {
		t.Fatalf("read after unplug: err = %v, want ErrDisconnected", lost)
	}
	if _, err := port.Write([]byte("x")); !errors.Is(err, serialdev.ErrDisconnected) {
		t.Errorf("write while unplugged: err = %v, want ErrDisconnected", err)
	}

	if err := sc.Replug(); err != nil {
		t.Fatal(err)
	}
	if sc.PortName() == first {
		t.Logf("replugged on the same name %s", first)
	}
	if err := sc.Scan("AFTER"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, port, "AFTER", 3*time.Second)
	if !port.Connected() {
		t.Error("not connected after replug")
	}

	if err := port.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := port.Read(make([]byte, 1)); !errors.Is(err, serialdev.ErrClosed) {
		t.Errorf("read after Close: err = %v, want ErrClosed", err)
	}
}

func TestOpenByName(t *testing.T) {
	sc, err := simhw.NewScanner(simhw.ScannerOptions{Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	p, err := serialdev.Open(serialdev.Config{Name: sc.PortName(), Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := sc.Scan("HELLO"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, "HELLO\r\n", 2*time.Second)
}
