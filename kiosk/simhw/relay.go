package simhw

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultRelayUSB is the USB identity of a simulated relay board (a CH340
// USB-serial bridge, as on common one-channel boards).
var DefaultRelayUSB = USB{VID: "1A86", PID: "7523", Serial: "SIM-RELAY"}

// Command strings of the common LC-style one-channel USB relay boards:
// A0, channel, state, checksum.
var (
	RelayOnLCUS  = []byte{0xA0, 0x01, 0x01, 0xA2}
	RelayOffLCUS = []byte{0xA0, 0x01, 0x00, 0xA1}
)

// RelayOptions configure a simulated relay board.
type RelayOptions struct {
	// On and Off are the command strings that close and open the relay;
	// nil means RelayOnLCUS and RelayOffLCUS.
	On, Off []byte
	// USB identity; zero means DefaultRelayUSB.
	USB USB
}

// Pulse is one closure of the relay.
type Pulse struct {
	Start    time.Time
	Duration time.Duration
}

// RelayBoard is a simulated serial relay board that records pulses.
type RelayBoard struct {
	*Device
	on, off []byte
	n       notifier

	mu     sync.Mutex
	buf    []byte
	closed time.Time // zero while the relay is open
	pulses []Pulse
}

// NewRelayBoard plugs in a simulated relay board.
func NewRelayBoard(opts RelayOptions) (*RelayBoard, error) {
	if opts.On == nil || opts.Off == nil {
		opts.On, opts.Off = RelayOnLCUS, RelayOffLCUS
	}
	if opts.USB == (USB{}) {
		opts.USB = DefaultRelayUSB
	}
	r := &RelayBoard{on: opts.On, off: opts.Off}
	d, err := newDevice(opts.USB, func(_ *Device, b []byte) { r.receive(b) })
	if err != nil {
		return nil, err
	}
	r.Device = d
	return r, nil
}

// Pulses returns the completed pulses.
func (r *RelayBoard) Pulses() []Pulse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Pulse(nil), r.pulses...)
}

// Closed reports whether the relay is closed right now.
func (r *RelayBoard) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed.IsZero()
}

// WaitPulses waits until at least n pulses completed and returns them.
func (r *RelayBoard) WaitPulses(ctx context.Context, n int) ([]Pulse, error) {
	if err := r.n.wait(ctx, func() bool { return len(r.Pulses()) >= n }); err != nil {
		return r.Pulses(), fmt.Errorf("simhw: waiting for %d pulses: %w", n, err)
	}
	return r.Pulses(), nil
}

func (r *RelayBoard) receive(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, b...)
	for len(r.buf) > 0 {
		switch {
		case bytes.HasPrefix(r.buf, r.on):
			if r.closed.IsZero() {
				r.closed = time.Now()
			}
			r.buf = r.buf[len(r.on):]
		case bytes.HasPrefix(r.buf, r.off):
			if !r.closed.IsZero() {
				r.pulses = append(r.pulses, Pulse{Start: r.closed, Duration: time.Since(r.closed)})
				r.closed = time.Time{}
				r.n.signal()
			}
			r.buf = r.buf[len(r.off):]
		case bytes.HasPrefix(r.on, r.buf) || bytes.HasPrefix(r.off, r.buf):
			return // a command split across reads
		default:
			r.buf = r.buf[1:] // noise
		}
	}
}
