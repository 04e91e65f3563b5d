package payment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SignatureHeader carries the HMAC of a pushed notification.
const SignatureHeader = "X-Signature"

const signaturePrefix = "sha256="

// Errors of notification verification.
var (
	ErrBadSignature          = errors.New("notification signature invalid")
	ErrMalformedNotification = errors.New("notification malformed")
)

// Notification is a pushed hint from a platform that something happened to
// a payment. It is never proof: the receiver verifies the signature, then
// still asks Platform.Status before acting, and deduplicates on EventID
// (platforms deliver at least once, possibly out of order).
type Notification struct {
	EventID    string    `json:"eventId"`
	PlatformID string    `json:"platformId"`
	Reference  string    `json:"reference"`
	Type       string    `json:"type,omitempty"` // e.g. "payment.paid"; informational only
	OccurredAt time.Time `json:"occurredAt,omitzero"`
}

// SignNotification returns the SignatureHeader value for body:
// "sha256=" + hex(HMAC-SHA256(secret, body)).
func SignNotification(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// VerifyNotification checks header (the SignatureHeader value) against the
// raw request body and parses the body. The HMAC is computed over the bytes
// as received — before any JSON decoding — and compared in constant time.
func VerifyNotification(secret []byte, header string, body []byte) (Notification, error) {
	if len(secret) == 0 {
		return Notification{}, fmt.Errorf("%w: no secret configured", ErrBadSignature)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return Notification{}, fmt.Errorf("%w: header lacks %q", ErrBadSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return Notification{}, fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return Notification{}, ErrBadSignature
	}
	return ParseNotification(body)
}

// ParseNotification decodes a notification body without checking a
// signature; use VerifyNotification for anything received over the network.
func ParseNotification(body []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrMalformedNotification, err)
	}
	if n.EventID == "" || (n.PlatformID == "" && n.Reference == "") {
		return Notification{}, fmt.Errorf("%w: eventId and platformId or reference required", ErrMalformedNotification)
	}
	return n, nil
}
