package booking

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// Manage tokens are recomputable: token = base64url(HMAC-SHA256(ManageKey,
// "manage\x00" + code + "\x00" + salt)) with a random salt per booking.
// Only the token's SHA-256 and the salt are stored, so a database dump
// yields no token, and yet the mail worker can build a manage link long
// after the booking was made.

func (e *Engine) newManageToken(code string, salt []byte) string {
	if len(e.ManageKey) == 0 || salt == nil {
		return NewToken()
	}
	return manageToken(e.ManageKey, code, salt)
}

func manageToken(key []byte, code string, salt []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("manage\x00" + code + "\x00"))
	m.Write(salt)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func newSalt() []byte {
	b := make([]byte, 16)
	rand.Read(b) // never fails, per its documentation
	return b
}

// newCalendarUID is a booking's stable calendar UID: random, so it tells
// nothing about the booking, and the same for every .ics of it.
func newCalendarUID() string {
	return strings.ToLower(RandomCode(26)) + "@termin"
}

// remindAt is when a booking starting at start is reminded of; nil when
// reminders are off or the time has passed.
func (e *Engine) remindAt(start, now time.Time) *time.Time {
	if e.ReminderBefore <= 0 {
		return nil
	}
	t := start.Add(-e.ReminderBefore).UTC()
	if !t.After(now) {
		return nil
	}
	return &t
}

// ManageToken recomputes a booking's manage token, for the mail worker
// and "find my booking"; never hand it to anyone but the booking's
// e-mail address. ErrTokenUnavailable for bookings from before
// recomputable tokens and when the engine has no ManageKey.
func (e *Engine) ManageToken(ctx context.Context, bookingID int64) (string, error) {
	if len(e.ManageKey) == 0 {
		return "", ErrTokenUnavailable
	}
	code, salt, err := e.records.ManageSecret(ctx, bookingID)
	if err != nil {
		return "", err
	}
	if salt == nil {
		return "", ErrTokenUnavailable
	}
	return manageToken(e.ManageKey, code, salt), nil
}

// FindBooking returns the booking with this code when it was made for
// this e-mail address (compared as the contact limit compares them). Any
// mismatch, an unknown code included, is ErrBookingNotFound: the caller
// cannot tell which part was wrong.
func (e *Engine) FindBooking(ctx context.Context, code, email string) (*Booking, error) {
	norm := NormalizeBookingCode(code)
	want := sha256.Sum256([]byte(NormalizeEmail(email)))
	if norm == "" || strings.TrimSpace(email) == "" {
		return nil, ErrBookingNotFound
	}
	b, _, err := e.records.BookingByCode(ctx, norm)
	if errors.Is(err, ErrBookingNotFound) {
		return nil, ErrBookingNotFound
	}
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(NormalizeEmail(b.Email)))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return nil, ErrBookingNotFound
	}
	return b, nil
}

// SendManageLink writes a manage_link event (the mail worker sends the
// booking's manage link to its address) when code and e-mail address
// match a booking; ErrBookingNotFound otherwise, which the caller must
// not reveal (answer the same either way, and rate-limit).
func (e *Engine) SendManageLink(ctx context.Context, code, email, lang string) error {
	b, err := e.FindBooking(ctx, code, email)
	if err != nil {
		return err
	}
	if lang != LangEN {
		lang = b.Lang
	}
	return e.records.RequestManageLink(ctx, b.ID, lang, e.Now().UTC())
}

// Details is what a confirmation page or mail shows of a booking.
type Details struct {
	Booking  *Booking
	Location Location
	// Lines are the booked services or ticket types with their counts.
	Lines []Line
	// FeeCents is the sum of the lines' fees.
	FeeCents int64
	// PaidOnline: the fee is paid through the payment platform.
	PaidOnline bool
	// ManageToken is "" when it cannot be recomputed.
	ManageToken string
}

// Line is one booked service or ticket type.
type Line struct {
	Service Service
	Count   int
}

// Details gathers a booking with its location, services and manage token;
// for server-side processes (mail, pages the citizen reached with the
// token), never as an answer to a request without the token.
func (e *Engine) Details(ctx context.Context, bookingID int64) (*Details, error) {
	b, err := e.records.BookingByID(ctx, bookingID)
	if err != nil {
		return nil, err
	}
	l, _, err := e.Location(b.LocationID)
	if err != nil {
		return nil, err
	}
	d := &Details{Booking: b, Location: *l}
	for _, it := range b.Items {
		s, err := e.Service(l.ID, it.ServiceID)
		if err != nil {
			// Deactivated since: show its id rather than nothing.
			s = &Service{ID: it.ServiceID, LocationID: l.ID, Name: it.ServiceID}
		}
		d.Lines = append(d.Lines, Line{Service: *s, Count: it.Count})
		d.FeeCents += s.FeeCents * int64(it.Count)
		if s.Payment == PayOnline && s.FeeCents > 0 {
			d.PaidOnline = true
		}
	}
	d.ManageToken, err = e.ManageToken(ctx, b.ID)
	if err != nil && !errors.Is(err, ErrTokenUnavailable) {
		return nil, err
	}
	return d, nil
}
