package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's cost parameters. The encoded hash carries
// them, so raising them later keeps old hashes verifiable.
type HashParams struct {
	MemoryKiB  uint32
	Iterations uint32
	Threads    uint8
	SaltLen    int
	KeyLen     uint32
}

// DefaultHashParams meet OWASP's minimum for argon2id: 19 MiB, 2
// iterations, 1 thread.
var DefaultHashParams = HashParams{MemoryKiB: 19 * 1024, Iterations: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrHashMalformed answers an encoded hash Verify cannot read.
var ErrHashMalformed = errors.New("account: password hash malformed")

// Limits of the parameters an encoded hash may carry, so a hash written
// into the store by hand cannot make a login cost a gigabyte.
const (
	maxHashMemoryKiB  = 1 << 20 // 1 GiB
	maxHashIterations = 32
	maxHashKeyLen     = 128
)

// Hash hashes a password with argon2id and a random salt. The result is
// self-describing in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>   (base64 without padding)
func Hash(password string, p HashParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decodedHash is an encoded hash taken apart.
type decodedHash struct {
	p         HashParams
	salt, key []byte
}

// decodeHash parses the PHC string Hash writes.
func decodeHash(encoded string) (*decodedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, ErrHashMalformed
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: version %q", ErrHashMalformed, parts[2])
	}
	var d decodedHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, ErrHashMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, ErrHashMalformed
		}
		switch k {
		case "m":
			d.p.MemoryKiB = uint32(n)
		case "t":
			d.p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return nil, ErrHashMalformed
			}
			d.p.Threads = uint8(n)
		default:
			return nil, ErrHashMalformed
		}
	}
	if d.p.MemoryKiB < 8 || d.p.MemoryKiB > maxHashMemoryKiB || d.p.Iterations < 1 || d.p.Iterations > maxHashIterations ||
		d.p.Threads < 1 || d.p.MemoryKiB < 8*uint32(d.p.Threads) {
		return nil, fmt.Errorf("%w: parameters out of range", ErrHashMalformed)
	}
	var err error
	if d.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(d.salt) < 8 {
		return nil, ErrHashMalformed
	}
	if d.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(d.key) < 16 || len(d.key) > maxHashKeyLen {
		return nil, ErrHashMalformed
	}
	d.p.SaltLen, d.p.KeyLen = len(d.salt), uint32(len(d.key))
	return &d, nil
}

// Verify reports whether password matches the encoded hash, in constant
// time for the comparison.
func Verify(password, encoded string) (bool, error) {
	d, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), d.salt, d.p.Iterations, d.p.MemoryKiB, d.p.Threads, d.p.KeyLen)
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// Password rules.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 128
)

// The password rules' refusals.
var (
	ErrPasswordShort   = errors.New("account: password too short")
	ErrPasswordLong    = errors.New("account: password too long")
	ErrPasswordLogin   = errors.New("account: password contains the login")
	ErrPasswordCommon  = errors.New("account: password too common")
	ErrPasswordInvalid = errors.New("account: password has control characters")
)

// commonPasswords are passwords (and bases of passwords) that are tried
// first; a password made only of one of them and digits is refused.
var commonPasswords = []string{"passwort", "password", "qwertz", "qwerty", "123456", "hallo", "sommer", "winter",
	"koblenz", "termin", "admin", "willkommen", "welcome", "letmein", "geheim", "abc123", "iloveyou", "schalter", "rathaus"}

// CheckPassword applies the password rules (NIST SP 800-63B style):
// 12 to 128 characters, any characters except control characters, not
// containing the login, not a common password with digits around it,
// not one character repeated.
func CheckPassword(password, login string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return ErrPasswordInvalid
	case n < MinPasswordLen:
		return ErrPasswordShort
	case n > MaxPasswordLen:
		return ErrPasswordLong
	}
	for _, r := range password {
		if r < 0x20 || r == 0x7f {
			return ErrPasswordInvalid
		}
	}
	lower := strings.ToLower(password)
	if login != "" && strings.Contains(lower, strings.ToLower(login)) {
		return ErrPasswordLogin
	}
	stripped := strings.Trim(lower, "0123456789!?.-_ ")
	for _, c := range commonPasswords {
		if stripped == "" || stripped == c || strings.Trim(strings.ReplaceAll(stripped, c, ""), "0123456789!?.-_ ") == "" {
			return ErrPasswordCommon
		}
	}
	if strings.Count(password, string([]rune(password)[0])) == n {
		return ErrPasswordCommon
	}
	return nil
}
