package booking

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Contact is who a booking is for.
type Contact struct {
	Name  string
	Email string
}

// Contact validation outcomes.
var (
	ErrNameInvalid  = errors.New("name missing or too long")
	ErrEmailInvalid = errors.New("malformed e-mail address")
)

// Validate checks a contact's fields.
func (c Contact) Validate() error {
	name := strings.TrimSpace(c.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return ErrNameInvalid
	}
	a, err := mail.ParseAddress(c.Email)
	if err != nil || a.Address != c.Email || len(c.Email) > 254 {
		return ErrEmailInvalid
	}
	at := strings.LastIndexByte(c.Email, '@')
	if at < 1 || !strings.Contains(c.Email[at+1:], ".") {
		return ErrEmailInvalid
	}
	return nil
}

// NormalizeEmail folds the spellings of one mailbox together for the
// per-contact limit: case and surrounding space are dropped, and so is a
// "+tag" suffix of the local part, which many providers deliver to the
// same mailbox and which would otherwise be a free way round the limit.
func NormalizeEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	local, domain := email[:at], email[at:]
	if plus := strings.IndexByte(local, '+'); plus > 0 {
		local = local[:plus]
	}
	return local + domain
}

// contactHash is the keyed hash that stands for an address in the limit's
// bookkeeping.
func (e *Engine) contactHash(email string) []byte {
	m := hmac.New(sha256.New, e.ContactKey)
	m.Write([]byte(NormalizeEmail(email)))
	return m.Sum(nil)
}
