// Package scanner turns the byte stream of a serial barcode scanner into
// scanned codes: it splits at CR, LF, CRLF or a configured suffix,
// reassembles codes that arrive in fragments, strips an optional AIM
// symbology identifier, skips noise and drops repeats of the same code.
package scanner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// DefaultMaxLen is the longest code accepted; longer lines are noise
// (two codes run together, a scanner in a wrong mode).
const DefaultMaxLen = 2048

// DefaultDebounce is how long a repeat of the same code is ignored.
const DefaultDebounce = 2 * time.Second

// Config describes the scanner's framing.
type Config struct {
	// Suffix is an extra terminator besides CR and LF, e.g. "\t" or
	// "\x03" (ETX).
	Suffix string
	// AIM strips an AIM symbology identifier ("]" + letter + digit, e.g.
	// "]Q1" for QR) from the start of each code and reports it.
	AIM bool
	// MaxLen bounds code length; zero means DefaultMaxLen.
	MaxLen int
	// Debounce drops a code identical to the previous one while it keeps
	// arriving within this window (a scanner in continuous mode repeats
	// a code held under it). Zero means DefaultDebounce; negative
	// disables it.
	Debounce time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Transient reports read errors the port recovers from by itself,
	// e.g. errors.Is(err, serialdev.ErrDisconnected) for a reconnecting
	// port; nil means every error ends Next.
	Transient func(error) bool
}

// Code is one scanned code.
type Code struct {
	Text string
	// Symbology is the AIM identifier without "]", e.g. "Q1", when
	// Config.AIM is set and the scanner sent one.
	Symbology string
	At        time.Time
}

// Splitter frames codes from bytes pushed in arbitrary pieces. It holds
// no I/O, so it can be driven from tests or any reader.
type Splitter struct {
	suffix  []byte
	aim     bool
	maxLen  int
	buf     []byte
	discard bool // inside an overlong line
}

// NewSplitter returns a Splitter for cfg's framing.
func NewSplitter(cfg Config) *Splitter {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	return &Splitter{suffix: []byte(cfg.Suffix), aim: cfg.AIM, maxLen: cfg.MaxLen}
}

// Push consumes p and returns the codes completed by it, without times.
func (s *Splitter) Push(p []byte) []Code {
	var out []Code
	for _, b := range p {
		s.buf = append(s.buf, b)
		end := -1
		switch {
		case b == '\r' || b == '\n':
			end = len(s.buf) - 1
		case len(s.suffix) > 0 && bytes.HasSuffix(s.buf, s.suffix):
			end = len(s.buf) - len(s.suffix)
		}
		if end >= 0 {
			if !s.discard {
				if c, ok := s.code(s.buf[:end]); ok {
					out = append(out, c)
				}
			}
			s.buf, s.discard = s.buf[:0], false
			continue
		}
		if len(s.buf) > s.maxLen+len(s.suffix) {
			// Overlong: drop it, keeping enough of the tail to still see
			// a suffix that straddles the cut.
			s.discard = true
			keep := max(len(s.suffix)-1, 0)
			s.buf = append(s.buf[:0], s.buf[len(s.buf)-keep:]...)
		}
	}
	return out
}

// Reset forgets a partial code, e.g. after the device was reconnected.
func (s *Splitter) Reset() {
	s.buf, s.discard = s.buf[:0], false
}

// code cleans one framed line: control bytes are dropped, and lines that
// end up empty, overlong or not UTF-8 are noise.
func (s *Splitter) code(line []byte) (Code, bool) {
	clean := make([]byte, 0, len(line))
	for _, b := range line {
		if b >= 0x20 && b != 0x7F {
			clean = append(clean, b)
		}
	}
	var c Code
	if s.aim && len(clean) >= 3 && clean[0] == ']' && isAlpha(clean[1]) && isAlnum(clean[2]) {
		c.Symbology = string(clean[1:3])
		clean = clean[3:]
	}
	if len(clean) == 0 || len(clean) > s.maxLen || !utf8.Valid(clean) {
		return Code{}, false
	}
	c.Text = string(clean)
	return c, true
}

func isAlpha(b byte) bool { return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' }
func isAlnum(b byte) bool { return isAlpha(b) || b >= '0' && b <= '9' }

// Reader reads codes from a scanner port.
type Reader struct {
	r         io.Reader
	split     *Splitter
	debounce  time.Duration
	now       func() time.Time
	transient func(error) bool
	queue     []Code
	last      Code // last code seen, for debouncing; At is when last seen
	buf       []byte
}

// NewReader reads codes from r, which should be a port with a read
// timeout (reads returning (0, nil)) so Next can notice cancellation.
func NewReader(r io.Reader, cfg Config) *Reader {
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reader{r: r, split: NewSplitter(cfg), debounce: cfg.Debounce, now: cfg.Now,
		transient: cfg.Transient, buf: make([]byte, 512)}
}

// Next returns the next code. Read errors for which Config.Transient
// reports true discard any partial code and reading goes on; other
// errors, including io.EOF, are returned.
func (r *Reader) Next(ctx context.Context) (Code, error) {
	for {
		if len(r.queue) > 0 {
			c := r.queue[0]
			r.queue = r.queue[1:]
			return c, nil
		}
		if err := ctx.Err(); err != nil {
			return Code{}, err
		}
		n, err := r.r.Read(r.buf)
		r.accept(r.split.Push(r.buf[:n]))
		if err != nil {
			if r.transient != nil && r.transient(err) {
				r.split.Reset()
				continue
			}
			return Code{}, fmt.Errorf("scanner: read: %w", err)
		}
	}
}

// accept time-stamps codes and drops debounced repeats.
func (r *Reader) accept(codes []Code) {
	for _, c := range codes {
		c.At = r.now()
		repeat := r.debounce > 0 && c.Text == r.last.Text && c.At.Sub(r.last.At) < r.debounce
		r.last = c
		if !repeat {
			r.queue = append(r.queue, c)
		}
	}
}
