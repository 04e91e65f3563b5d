// Package gate opens a turnstile or door by pulsing a relay: the dry
// contact of a turnstile unlocks one passage per closure of typically
// 100–200 ms.
package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Relay closes a contact for a while.
type Relay interface {
	// Pulse closes the relay for d, or until ctx ends, and opens it
	// again. The relay is opened even when ctx ends early.
	Pulse(ctx context.Context, d time.Duration) error
}

// ModemLines is the part of a serial port that sets the output lines;
// go.bug.st/serial ports implement it.
type ModemLines interface {
	SetDTR(bool) error
	SetRTS(bool) error
}

// Line selects a modem output line.
type Line int

// Output lines a relay can hang on.
const (
	DTR Line = iota
	RTS
)

// ModemLineRelay drives a relay wired to DTR or RTS of a serial port, as
// on simple USB-serial relay modules. It does not work on
// pseudo-terminals, which reject modem-line ioctls.
type ModemLineRelay struct {
	Port ModemLines
	Line Line
	// ActiveLow inverts the line: the relay closes when it is cleared.
	ActiveLow bool
}

// Pulse implements Relay.
func (r *ModemLineRelay) Pulse(ctx context.Context, d time.Duration) error {
	set := r.Port.SetDTR
	if r.Line == RTS {
		set = r.Port.SetRTS
	}
	if err := set(!r.ActiveLow); err != nil {
		return fmt.Errorf("gate: close relay: %w", err)
	}
	wait(ctx, d)
	if err := set(r.ActiveLow); err != nil {
		return fmt.Errorf("gate: open relay: %w", err)
	}
	return ctx.Err()
}

// CommandRelay drives a relay board that takes command strings over a
// serial line, e.g. A0 01 01 A2 / A0 01 00 A1 on the common LC-style
// USB relay boards.
type CommandRelay struct {
	W       io.Writer
	On, Off []byte
}

// Pulse implements Relay.
func (r *CommandRelay) Pulse(ctx context.Context, d time.Duration) error {
	if len(r.On) == 0 || len(r.Off) == 0 {
		return errors.New("gate: relay on/off commands not configured")
	}
	if _, err := r.W.Write(r.On); err != nil {
		return fmt.Errorf("gate: close relay: %w", err)
	}
	wait(ctx, d)
	if _, err := r.W.Write(r.Off); err != nil {
		return fmt.Errorf("gate: open relay: %w", err)
	}
	return ctx.Err()
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
