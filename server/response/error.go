package response

import (
	"math"
	"time"
)

// Error is what every failed request answers: a stable code for programs,
// and a message in English and German for people.
type Error struct {
	Status    int    `json:"-"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageDE string `json:"message_de"`
	// RetryAfter, in seconds, is sent as the Retry-After header.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an answer with a status, a code and the two messages.
func New(status int, code, en, de string) *Error {
	return &Error{Status: status, Code: code, Message: en, MessageDE: de}
}

// Invalid answers 400 invalid_request for one field of a request, with
// the reason in English and German.
func Invalid(field, en, de string) *Error {
	return New(400, "invalid_request", field+": "+en, field+": "+de)
}

// Required answers that a field is missing.
func Required(field string) *Error { return Invalid(field, "is required", "ist erforderlich") }

// InvalidDate answers that a field is not a date.
func InvalidDate(field string) *Error {
	return Invalid(field, "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
}

// RateLimited tells a client to slow down and when to try again.
func RateLimited(wait time.Duration) *Error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return &Error{Status: 429, Code: "rate_limited", RetryAfter: secs,
		Message:   "Too many requests from your connection. Please wait a moment and try again.",
		MessageDE: "Zu viele Anfragen von Ihrer Verbindung. Bitte warten Sie einen Moment und versuchen Sie es erneut."}
}

// ReleasedTooQuickly answers a hold or a release from a client that gave
// holds back within seconds of taking them too often (fairness.ReleaseGuard).
func ReleasedTooQuickly(wait time.Duration) *Error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return &Error{Status: 429, Code: "released_too_quickly", RetryAfter: secs,
		Message:   "You have given back held times within seconds too often. Please wait before holding or giving back another time.",
		MessageDE: "Sie haben reservierte Zeiten zu oft nach wenigen Sekunden wieder freigegeben. Bitte warten Sie, bevor Sie eine weitere Zeit reservieren oder freigeben."}
}

// Unreadable answers 422 for an uploaded file that does not parse; the
// parser's reason is appended to both messages.
func Unreadable(code, en, de string, reason error) *Error {
	return New(422, code, en+": "+reason.Error(), de+": "+reason.Error())
}
