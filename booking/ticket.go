package booking

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TicketClaims is what a booking's QR code says, signed by the server so a
// gate can check it without a network.
type TicketClaims struct {
	Code     string `json:"c"`
	Location string `json:"l"`
	Service  string `json:"v"`
	Start    int64  `json:"s"` // unix seconds
	End      int64  `json:"e"` // unix seconds
	// Units is the number of persons the ticket admits.
	Units int `json:"u"`
	// Tickets breaks Units down by ticket type for an order of several
	// types; omitted for one type, so such payloads are exactly those of
	// before and older gates read them unchanged.
	Tickets []TicketCount `json:"t,omitempty"`
	// Key names the signing key (TicketKey.ID) so a device picks it
	// without trying each; omitted by the first key, so its tickets are
	// exactly those of before key rotation and older devices read them.
	Key int64 `json:"k,omitempty"`
}

// TicketCount is the number of persons of one ticket type.
type TicketCount struct {
	Service string `json:"v"`
	Count   int    `json:"n"`
}

// StartTime is the slot start.
func (c TicketClaims) StartTime() time.Time { return time.Unix(c.Start, 0).UTC() }

// EndTime is the slot end.
func (c TicketClaims) EndTime() time.Time { return time.Unix(c.End, 0).UTC() }

// ticketPrefix versions the QR payload format.
const ticketPrefix = "TRM1."

// QR payload errors.
var (
	ErrTicketMalformed = errors.New("not a termin ticket")
	ErrTicketSignature = errors.New("ticket signature invalid")
)

// ClaimsOf returns the QR claims of a booking.
func ClaimsOf(b *Booking) TicketClaims {
	c := TicketClaims{Code: b.Code, Location: b.LocationID, Service: b.ServiceID,
		Start: b.Start.Unix(), End: b.End.Unix(), Units: len(b.Units)}
	if len(b.Items) > 1 {
		for _, it := range b.Items {
			c.Tickets = append(c.Tickets, TicketCount{Service: it.ServiceID, Count: it.Count})
		}
	}
	return c
}

// SignTicket encodes claims as "TRM1.<claims>.<signature>", both parts
// base64url without padding; the signature covers "TRM1.<claims>".
func SignTicket(key ed25519.PrivateKey, c TicketClaims) string {
	body, _ := json.Marshal(c)
	signed := ticketPrefix + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(signed)))
}

// ParseTicket decodes a QR payload without checking its signature.
func ParseTicket(payload string) (TicketClaims, []byte, string, error) {
	var c TicketClaims
	payload = strings.TrimSpace(payload)
	if !strings.HasPrefix(payload, ticketPrefix) || len(payload) > 1024 {
		return c, nil, "", ErrTicketMalformed
	}
	dot := strings.LastIndexByte(payload, '.')
	if dot <= len(ticketPrefix) {
		return c, nil, "", ErrTicketMalformed
	}
	signed := payload[:dot]
	body, err := base64.RawURLEncoding.DecodeString(signed[len(ticketPrefix):])
	if err != nil {
		return c, nil, "", ErrTicketMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(payload[dot+1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return c, nil, "", ErrTicketMalformed
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return c, nil, "", ErrTicketMalformed
	}
	if NormalizeBookingCode(c.Code) != c.Code || c.Location == "" || c.End <= c.Start || c.Units < 1 || c.Key < 0 {
		return c, nil, "", ErrTicketMalformed
	}
	if len(c.Tickets) > 0 {
		sum := 0
		for _, t := range c.Tickets {
			if t.Service == "" || t.Count < 1 || t.Count > c.Units {
				return c, nil, "", ErrTicketMalformed
			}
			sum += t.Count
		}
		if sum != c.Units || len(c.Tickets) > MaxChoiceItems {
			return c, nil, "", ErrTicketMalformed
		}
	}
	return c, sig, signed, nil
}

// VerifyTicket parses a QR payload and checks its signature.
func VerifyTicket(pub ed25519.PublicKey, payload string) (TicketClaims, error) {
	c, sig, signed, err := ParseTicket(payload)
	if err != nil {
		return c, err
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte(signed), sig) {
		return TicketClaims{}, ErrTicketSignature
	}
	return c, nil
}

// ValidAt reports whether a ticket admits at instant now, with grace
// before its start and after its end.
func (c TicketClaims) ValidAt(now time.Time, early, late time.Duration) error {
	if now.Before(c.StartTime().Add(-early)) {
		return fmt.Errorf("%w: slot starts at %s", ErrTicketTooEarly, c.StartTime().Format(time.RFC3339))
	}
	if now.After(c.EndTime().Add(late)) {
		return fmt.Errorf("%w: slot ended at %s", ErrTicketExpired, c.EndTime().Format(time.RFC3339))
	}
	return nil
}

// Ticket window outcomes.
var (
	ErrTicketTooEarly = errors.New("ticket not yet valid")
	ErrTicketExpired  = errors.New("ticket expired")
)
