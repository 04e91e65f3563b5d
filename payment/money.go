package payment

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadAmount reports a decimal amount that is not a valid euro amount with
// at most two decimal places.
var ErrBadAmount = errors.New("invalid decimal amount")

// maxCents bounds parsed amounts far below int64 overflow; no municipal fee
// comes near 10^15 euro.
const maxCents = 1e17

// ParseCents parses a decimal euro amount as written in bank statements,
// settlement reports and JSON ("12.5", "12.50", "-3", "0.07") into cents.
// Neither floats nor more than two significant decimal places are accepted:
// a third decimal would mean the sender's amounts and ours differ.
func ParseCents(s string) (int64, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%w: %q", ErrBadAmount, orig)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, fmt.Errorf("%w: %q has more than two decimal places", ErrBadAmount, orig)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if len(whole) > 15 {
		return 0, fmt.Errorf("%w: %q out of range", ErrBadAmount, orig)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrBadAmount, orig)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	c := w*100 + f
	if c > maxCents {
		return 0, fmt.Errorf("%w: %q out of range", ErrBadAmount, orig)
	}
	if neg {
		c = -c
	}
	return c, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FormatCents writes cents as a decimal euro amount with two places
// ("12.50", "-0.07"), the form ParseCents reads.
func FormatCents(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-c)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
