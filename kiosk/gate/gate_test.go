package gate_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/gate"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/kiosk/simhw"
)

// fakeLines records modem-line changes.
type fakeLines struct {
	calls []string
	err   error
}

func (f *fakeLines) SetDTR(on bool) error { return f.record("DTR", on) }
func (f *fakeLines) SetRTS(on bool) error { return f.record("RTS", on) }

func (f *fakeLines) record(line string, on bool) error {
	state := "0"
	if on {
		state = "1"
	}
	f.calls = append(f.calls, line+"="+state)
	return f.err
}

func TestModemLineRelay(t *testing.T) {
	tests := []struct {
		name  string
		relay gate.ModemLineRelay
		want  []string
	}{
		{"DTR", gate.ModemLineRelay{Line: gate.DTR}, []string{"DTR=1", "DTR=0"}},
		{"RTS active low", gate.ModemLineRelay{Line: gate.RTS, ActiveLow: true}, []string{"RTS=0", "RTS=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := &fakeLines{}
			tt.relay.Port = lines
			if err := tt.relay.Pulse(context.Background(), time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(lines.calls, tt.want) {
				t.Errorf("calls = %v, want %v", lines.calls, tt.want)
			}
		})
	}
}

func TestModemLineRelayOpensOnCancel(t *testing.T) {
	lines := &fakeLines{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := gate.ModemLineRelay{Port: lines}
	if err := r.Pulse(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want Canceled", err)
	}
	if !slices.Equal(lines.calls, []string{"DTR=1", "DTR=0"}) {
		t.Errorf("calls = %v: relay left closed", lines.calls)
	}
}

// TestModemLinesFailOnPTY documents why tests use the command protocol:
// pseudo-terminals reject modem-line ioctls.
func TestModemLinesFailOnPTY(t *testing.T) {
	board, err := simhw.NewRelayBoard(simhw.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	port, err := serialdev.Open(serialdev.Config{Name: board.PortName()})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	r := gate.ModemLineRelay{Port: port}
	if err := r.Pulse(context.Background(), time.Millisecond); err == nil {
		t.Skip("this system's ptys accept modem-line ioctls")
	}
}

func TestCommandRelayOverPTY(t *testing.T) {
	board, err := simhw.NewRelayBoard(simhw.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	port, err := serialdev.Open(serialdev.Config{Name: board.PortName()})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	relay := &gate.CommandRelay{W: port, On: simhw.RelayOnLCUS, Off: simhw.RelayOffLCUS}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	const d = 150 * time.Millisecond
	for range 2 {
		if err := relay.Pulse(ctx, d); err != nil {
			t.Fatalf("Pulse: %v", err)
		}
	}
	pulses, err := board.WaitPulses(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pulses {
		// The board measures between receiving on and off; allow for
		// scheduling on a busy machine.
		if p.Duration < d-20*time.Millisecond || p.Duration > d+500*time.Millisecond {
			t.Errorf("pulse %d lasted %v, want about %v", i, p.Duration, d)
		}
	}
	if board.Closed() {
		t.Error("relay left closed")
	}
}

func TestCommandRelayUnconfigured(t *testing.T) {
	r := &gate.CommandRelay{}
	if err := r.Pulse(context.Background(), time.Millisecond); err == nil {
		t.Error("want an error without on/off commands")
	}
}
