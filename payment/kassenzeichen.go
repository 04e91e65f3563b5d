package payment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidKassenzeichen reports a Kassenzeichen that does not follow the
// scheme or whose check digit is wrong (a typo when copied by hand).
var ErrInvalidKassenzeichen = errors.New("invalid Kassenzeichen")

// DefaultKassenzeichenWidth is the number of digits of the running number
// unless a scheme says otherwise.
const DefaultKassenzeichenWidth = 9

// KassenzeichenScheme builds Kassenzeichen as
//
//	prefix + running number zero-padded to Width digits + one check digit
//
// The check digit is Luhn (mod 10, weights 2-1 from the right) over the
// whole string before it, with letters of the prefix expanded to two digits
// A=10 … Z=35 as in IBAN check computation. Luhn was chosen over mod 11
// because it always yields a single digit (mod 11 needs an "X" or must skip
// numbers) and still catches every single-digit error and most adjacent
// transpositions — the mistakes people make when typing a reference from a
// letter into a bank transfer.
//
// The running number is an input: it comes from a PostgreSQL sequence, so
// the scheme itself is stateless and safe across processes.
type KassenzeichenScheme struct {
	Prefix string // 0–8 characters of [0-9A-Z]
	Width  int    // digits of the running number; 0 means DefaultKassenzeichenWidth
}

func (s KassenzeichenScheme) width() int {
	if s.Width <= 0 {
		return DefaultKassenzeichenWidth
	}
	return s.Width
}

func (s KassenzeichenScheme) checkPrefix() error {
	if len(s.Prefix) > 8 {
		return fmt.Errorf("%w: prefix %q longer than 8 characters", ErrInvalidKassenzeichen, s.Prefix)
	}
	for _, r := range s.Prefix {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: prefix %q must be of [0-9A-Z]", ErrInvalidKassenzeichen, s.Prefix)
		}
	}
	if s.width() > 18 {
		return fmt.Errorf("%w: width %d too large", ErrInvalidKassenzeichen, s.Width)
	}
	return nil
}

// Format returns the Kassenzeichen for running number n (n ≥ 1 and fitting
// the width).
func (s KassenzeichenScheme) Format(n int64) (string, error) {
	if err := s.checkPrefix(); err != nil {
		return "", err
	}
	w := s.width()
	num := strconv.FormatInt(n, 10)
	if n < 1 || len(num) > w {
		return "", fmt.Errorf("%w: running number %d does not fit %d digits", ErrInvalidKassenzeichen, n, w)
	}
	body := s.Prefix + strings.Repeat("0", w-len(num)) + num
	return body + string(rune('0'+luhnCheckDigit(body))), nil
}

// Validate checks that k has the scheme's prefix and width and a correct
// check digit.
func (s KassenzeichenScheme) Validate(k string) error {
	_, err := s.Number(k)
	return err
}

// Number validates k and returns its running number.
func (s KassenzeichenScheme) Number(k string) (int64, error) {
	if err := s.checkPrefix(); err != nil {
		return 0, err
	}
	w := s.width()
	if len(k) != len(s.Prefix)+w+1 || !strings.HasPrefix(k, s.Prefix) {
		return 0, fmt.Errorf("%w: %q does not match prefix %q and %d digits", ErrInvalidKassenzeichen, k, s.Prefix, w)
	}
	num := k[len(s.Prefix) : len(k)-1]
	check := k[len(k)-1]
	if !digits(num) || check < '0' || check > '9' {
		return 0, fmt.Errorf("%w: %q has non-digits after the prefix", ErrInvalidKassenzeichen, k)
	}
	if int(check-'0') != luhnCheckDigit(k[:len(k)-1]) {
		return 0, fmt.Errorf("%w: %q has a wrong check digit", ErrInvalidKassenzeichen, k)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: %q has no valid running number", ErrInvalidKassenzeichen, k)
	}
	return n, nil
}

// FormatKassenzeichen formats running number n with prefix and the default
// width.
func FormatKassenzeichen(prefix string, n int64) (string, error) {
	return KassenzeichenScheme{Prefix: prefix}.Format(n)
}

// ValidateKassenzeichen validates k against prefix and the default width.
func ValidateKassenzeichen(prefix, k string) error {
	return KassenzeichenScheme{Prefix: prefix}.Validate(k)
}

// luhnCheckDigit computes the Luhn check digit for s, which holds digits
// and upper-case letters (letters count as two digits, A=10 … Z=35).
func luhnCheckDigit(s string) int {
	var ds []int
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			ds = append(ds, int(r-'0'))
		case r >= 'A' && r <= 'Z':
			v := int(r-'A') + 10
			ds = append(ds, v/10, v%10)
		}
	}
	sum := 0
	// The rightmost digit of the body gets weight 2 because the check
	// digit will stand to its right.
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if (len(ds)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}
