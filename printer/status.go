package printer

import (
	"errors"
	"fmt"
)

// Query selects which real-time status DLE EOT n asks for.
type Query byte

// Real-time status queries (DLE EOT n).
const (
	QueryPrinter Query = 1 // online/offline
	QueryOffline Query = 2 // why offline: cover, paper end, error
	QueryError   Query = 3 // error cause: cutter, unrecoverable, …
	QueryPaper   Query = 4 // roll paper sensors
)

// AllQueries lists the queries that together fill a Status.
var AllQueries = []Query{QueryPrinter, QueryOffline, QueryError, QueryPaper}

// Errors describing why a printer cannot print. Status.Err returns them
// joined, so callers test with errors.Is.
var (
	ErrOffline       = errors.New("printer offline")
	ErrCoverOpen     = errors.New("printer cover open")
	ErrPaperEnd      = errors.New("printer out of paper")
	ErrCutter        = errors.New("printer cutter error")
	ErrMechanical    = errors.New("printer mechanical error")
	ErrUnrecoverable = errors.New("printer unrecoverable error")
	ErrRecoverable   = errors.New("printer auto-recoverable error")

	// ErrBadStatus reports a byte that is not shaped like a status reply.
	ErrBadStatus = errors.New("printer: malformed status")
)

// Status is what a printer reports about itself. Each DLE EOT query fills
// some of the fields; an Automatic Status Back message fills most at once.
type Status struct {
	// DLE EOT 1
	DrawerHigh            bool // drawer kick-out connector pin 3 high
	Offline               bool
	WaitingOnlineRecovery bool
	FeedButton            bool // paper feed button pressed
	// DLE EOT 2
	CoverOpen    bool
	PaperFeeding bool // paper being fed with the feed button
	PaperEndStop bool // printing stopped because the paper ran out
	Error        bool
	// DLE EOT 3
	MechanicalError bool
	CutterError     bool
	Unrecoverable   bool
	AutoRecoverable bool
	// DLE EOT 4
	PaperNearEnd bool
	PaperEnd     bool
}

// Err returns nil when the printer can print, otherwise the matching
// sentinel errors joined. A near end is not an error: the roll still
// holds a few tickets.
func (s Status) Err() error {
	var errs []error
	add := func(cond bool, err error) {
		if cond {
			errs = append(errs, err)
		}
	}
	add(s.PaperEnd || s.PaperEndStop, ErrPaperEnd)
	add(s.CoverOpen, ErrCoverOpen)
	add(s.CutterError, ErrCutter)
	add(s.MechanicalError, ErrMechanical)
	add(s.Unrecoverable, ErrUnrecoverable)
	add(s.AutoRecoverable, ErrRecoverable)
	// Offline is usually a consequence of the above; report it alone only
	// when nothing more specific is known.
	add(s.Offline && len(errs) == 0, ErrOffline)
	return errors.Join(errs...)
}

// StatusQuery returns the bytes of DLE EOT q.
func StatusQuery(q Query) []byte {
	return []byte{DLE, EOT, byte(q)}
}

// IsStatusReply reports whether b has the fixed bits of a DLE EOT reply:
// 0xx1xx10b. Automatic Status Back bytes never match (bit 1 is 0 in the
// first ASB byte, bit 4 is 0 in the others), so a reader can skip them.
func IsStatusReply(b byte) bool {
	return b&0x93 == 0x12
}

// ParseStatus decodes the one-byte reply to DLE EOT q.
func ParseStatus(q Query, b byte) (Status, error) {
	var s Status
	err := s.Apply(q, b)
	return s, err
}

// Apply merges the reply b to DLE EOT q into s, so the four replies
// build one Status.
func (s *Status) Apply(q Query, b byte) error {
	if !IsStatusReply(b) {
		return fmt.Errorf("%w: reply %#02x to DLE EOT %d", ErrBadStatus, b, q)
	}
	bit := func(n uint) bool { return b&(1<<n) != 0 }
	switch q {
	case QueryPrinter:
		s.DrawerHigh, s.Offline, s.WaitingOnlineRecovery, s.FeedButton = bit(2), bit(3), bit(5), bit(6)
	case QueryOffline:
		s.CoverOpen, s.PaperFeeding, s.PaperEndStop, s.Error = bit(2), bit(3), bit(5), bit(6)
	case QueryError:
		s.MechanicalError, s.CutterError, s.Unrecoverable, s.AutoRecoverable = bit(2), bit(3), bit(5), bit(6)
	case QueryPaper:
		// Each sensor drives two bits; either set counts.
		s.PaperNearEnd, s.PaperEnd = bit(2) || bit(3), bit(5) || bit(6)
	default:
		return fmt.Errorf("%w: unknown query %d", ErrBadStatus, q)
	}
	return nil
}

// Reply returns the byte a printer in state s answers to DLE EOT q; the
// simulated printer uses it.
func (s Status) Reply(q Query) byte {
	b := byte(0x12)
	set := func(cond bool, bits byte) {
		if cond {
			b |= bits
		}
	}
	switch q {
	case QueryPrinter:
		set(s.DrawerHigh, 1<<2)
		set(s.Offline, 1<<3)
		set(s.WaitingOnlineRecovery, 1<<5)
		set(s.FeedButton, 1<<6)
	case QueryOffline:
		set(s.CoverOpen, 1<<2)
		set(s.PaperFeeding, 1<<3)
		set(s.PaperEndStop, 1<<5)
		set(s.Error, 1<<6)
	case QueryError:
		set(s.MechanicalError, 1<<2)
		set(s.CutterError, 1<<3)
		set(s.Unrecoverable, 1<<5)
		set(s.AutoRecoverable, 1<<6)
	case QueryPaper:
		set(s.PaperNearEnd, 3<<2)
		set(s.PaperEnd, 3<<5)
	}
	return b
}

// ASBLen is the length of an Automatic Status Back message (GS a).
const ASBLen = 4

// IsASB reports whether b starts with an Automatic Status Back message:
// a first byte 0xx1xx00b followed by three bytes 0xx0xxxxb.
func IsASB(b []byte) bool {
	if len(b) < ASBLen || b[0]&0x93 != 0x10 {
		return false
	}
	for _, c := range b[1:ASBLen] {
		if c&0x90 != 0 {
			return false
		}
	}
	return true
}

// ParseASB decodes the four bytes of an Automatic Status Back message.
func ParseASB(b []byte) (Status, error) {
	if !IsASB(b) {
		return Status{}, fmt.Errorf("%w: not an automatic status back message: % x", ErrBadStatus, b[:min(len(b), ASBLen)])
	}
	bit := func(i int, n uint) bool { return b[i]&(1<<n) != 0 }
	s := Status{
		DrawerHigh: bit(0, 2),
		Offline:    bit(0, 3),
		CoverOpen:  bit(0, 5),
		FeedButton: bit(0, 6),

		WaitingOnlineRecovery: bit(1, 0),
		MechanicalError:       bit(1, 2),
		CutterError:           bit(1, 3),
		Unrecoverable:         bit(1, 5),
		AutoRecoverable:       bit(1, 6),

		PaperNearEnd: bit(2, 0) || bit(2, 1),
		PaperEnd:     bit(2, 2) || bit(2, 3),
	}
	s.Error = s.MechanicalError || s.CutterError || s.Unrecoverable || s.AutoRecoverable
	return s, nil
}
