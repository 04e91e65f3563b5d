package booking

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// read out over the phone cannot be misheard as another.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// RandomCode returns n random Crockford base32 characters (5 bits each).
// Booking codes, hold ids, device codes and payment references all use it.
func RandomCode(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails, per its documentation
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

// NewBookingCode returns an 8-character Crockford base32 code (40 bits).
func NewBookingCode() string { return RandomCode(8) }

// NormalizeBookingCode upper-cases a typed code, drops separators and maps
// the letters Crockford base32 leaves out to the digits they look like. It
// returns "" for something that cannot be a code.
func NormalizeBookingCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != 8 {
		return ""
	}
	return b.String()
}

// NewToken returns a random 128-bit secret, base64url without padding:
// a manage token shown to a citizen once.
func NewToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails, per its documentation
	return base64.RawURLEncoding.EncodeToString(b)
}
