package simhw

import (
	"fmt"
	"time"
)

// DefaultScannerUSB is the USB identity of a simulated scanner.
var DefaultScannerUSB = USB{VID: "0C2E", PID: "0B61", Serial: "SIM-SCANNER"}

// ScannerOptions configure a simulated scanner.
type ScannerOptions struct {
	// Suffix ends every code; empty means "\r", the common default.
	Suffix string
	// Prefix, e.g. the AIM identifier "]Q1", starts every code.
	Prefix string
	// USB identity; zero means DefaultScannerUSB.
	USB USB
}

// Scanner is a simulated barcode scanner in serial (virtual COM) mode.
type Scanner struct {
	*Device
	opts ScannerOptions
}

// NewScanner plugs in a simulated scanner. What the kiosk sends it is
// ignored.
func NewScanner(opts ScannerOptions) (*Scanner, error) {
	if opts.Suffix == "" {
		opts.Suffix = "\r"
	}
	if opts.USB == (USB{}) {
		opts.USB = DefaultScannerUSB
	}
	d, err := newDevice(opts.USB, nil)
	if err != nil {
		return nil, err
	}
	return &Scanner{Device: d, opts: opts}, nil
}

// Scan sends code with the configured prefix and suffix in one write.
func (s *Scanner) Scan(code string) error {
	_, err := s.Write([]byte(s.opts.Prefix + code + s.opts.Suffix))
	return err
}

// ScanFragments sends code like Scan but split into pieces of at most
// size bytes with a pause between them, as a slow UART delivers it.
func (s *Scanner) ScanFragments(code string, size int, pause time.Duration) error {
	b := []byte(s.opts.Prefix + code + s.opts.Suffix)
	size = max(size, 1)
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := s.Write(b[:n]); err != nil {
			return fmt.Errorf("simhw: scan fragment: %w", err)
		}
		b = b[n:]
		time.Sleep(pause)
	}
	return nil
}
