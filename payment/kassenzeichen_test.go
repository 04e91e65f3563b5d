package payment

import (
	"errors"
	"testing"
)

func TestKassenzeichenFormat(t *testing.T) {
	tests := []struct {
		scheme KassenzeichenScheme
		n      int64
		want   string
		ok     bool
	}{
		// Body 000000001: Luhn digit 8 (well-known: 18 → "0000000018").
		{KassenzeichenScheme{Width: 9}, 1, "0000000018", true},
		{KassenzeichenScheme{Prefix: "7992739871", Width: 1}, 1, "", false}, // prefix too long
		{KassenzeichenScheme{Prefix: "7", Width: 9}, 992739871, "79927398713", true},
		{KassenzeichenScheme{Prefix: "BA", Width: 6}, 42, "BA0000428", true},
		{KassenzeichenScheme{Prefix: "ba"}, 1, "", false},
		{KassenzeichenScheme{Width: 3}, 1000, "", false},
		{KassenzeichenScheme{}, 0, "", false},
	}
	for _, tt := range tests {
		got, err := tt.scheme.Format(tt.n)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("%+v.Format(%d) = %q, %v; want %q ok=%v", tt.scheme, tt.n, got, err, tt.want, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrInvalidKassenzeichen) {
				t.Errorf("error %v is not ErrInvalidKassenzeichen", err)
			}
			continue
		}
		n, err := tt.scheme.Number(got)
		if err != nil || n != tt.n {
			t.Errorf("Number(%q) = %d, %v; want %d", got, n, err, tt.n)
		}
	}
}

func TestKassenzeichenValidateCatchesTypos(t *testing.T) {
	s := KassenzeichenScheme{Prefix: "ST", Width: 8}
	for n := int64(1); n < 3000; n += 7 {
		k, err := s.Format(n)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(k)
		for i := len(s.Prefix); i < len(b); i++ {
			orig := b[i]
			for d := byte('0'); d <= '9'; d++ {
				if d == orig {
					continue
				}
				b[i] = d
				if s.Validate(string(b)) == nil {
					t.Fatalf("single-digit change %q → %q accepted", k, b)
				}
			}
			b[i] = orig
		}
	}
}

func TestKassenzeichenValidate(t *testing.T) {
	s := KassenzeichenScheme{Prefix: "BA", Width: 6}
	tests := []struct {
		in string
		ok bool
	}{
		{"BA0000428", true},
		{"BA0000421", false},
		{"XA0000428", false},
		{"BA000042", false},
		{"BA00004200", false},
		{"BA00a0420", false},
		{"BA0000000", false}, // running number 0 is never issued
	}
	for _, tt := range tests {
		err := s.Validate(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	if k, err := FormatKassenzeichen("K", 5); err != nil || ValidateKassenzeichen("K", k) != nil {
		t.Errorf("FormatKassenzeichen/ValidateKassenzeichen round trip: %q %v", k, err)
	}
}
