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
	// Phone is optional.
	Phone string
	// Lang is the citizen's language, LangDE (also when empty) or LangEN;
	// mails go out in it.
	Lang string
}

// Contact validation outcomes.
var (
	ErrNameInvalid  = errors.New("name missing or too long")
	ErrEmailInvalid = errors.New("malformed e-mail address")
	ErrPhoneInvalid = errors.New("malformed phone number")
	ErrLangInvalid  = errors.New("language is neither de nor en")
)

// lang is the contact's language with the default filled in.
func (c Contact) lang() string {
	if c.Lang == "" {
		return LangDE
	}
	return c.Lang
}

// ValidPhone accepts what people write as a phone number: digits, spaces,
// and + ( ) / - . between 6 and 40 characters with at least 6 digits. The
// pages check a form with it before booking, so both say the same.
func ValidPhone(p string) bool {
	if len(p) < 6 || len(p) > 40 {
		return false
	}
	digits := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +()/-.", r):
		default:
			return false
		}
	}
	return digits >= 6
}

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
	if p := strings.TrimSpace(c.Phone); p != "" && !ValidPhone(p) {
		return ErrPhoneInvalid
	}
	if c.Lang != "" && c.Lang != LangDE && c.Lang != LangEN {
		return ErrLangInvalid
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
