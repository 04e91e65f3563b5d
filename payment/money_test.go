package payment

import (
	"errors"
	"testing"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.50", 1250, true},
		{"12.5", 1250, true},
		{"12", 1200, true},
		{"0.07", 7, true},
		{"-3.10", -310, true},
		{"+1.00", 100, true},
		{"1.230", 123, true},
		{"1.234", 0, false},
		{"1,50", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"1e3", 0, false},
		{"--1", 0, false},
		{"9999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseCents(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseCents(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadAmount) {
			t.Errorf("ParseCents(%q) error %v is not ErrBadAmount", tt.in, err)
		}
	}
}

func TestFormatCents(t *testing.T) {
	for c, want := range map[int64]string{0: "0.00", 7: "0.07", 1250: "12.50", -310: "-3.10", -5: "-0.05"} {
		if got := FormatCents(c); got != want {
			t.Errorf("FormatCents(%d) = %q, want %q", c, got, want)
		}
		if back, err := ParseCents(want); err != nil || back != c {
			t.Errorf("ParseCents(FormatCents(%d)) = %d, %v", c, back, err)
		}
	}
}
