package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// holdTicket is what the pages after the hold need to show it: it rides
// in the URL, signed, so any replica can render the contact and review
// pages without a lookup. Only the hold id decides anything; the rest is
// display, and Book reports a hold that is gone.
type holdTicket struct {
	Hold     string `json:"h"`
	Location string `json:"l"`
	Items    []Item `json:"i"`
	Start    int64  `json:"s"`
	End      int64  `json:"e"`
	Expires  int64  `json:"x"`
}

var errTicketInvalid = errors.New("web: hold ticket invalid")

func ticketFor(h *booking.Hold, items []Item) holdTicket {
	return holdTicket{Hold: h.ID, Location: h.LocationID, Items: items, Start: h.Start.Unix(), End: h.End.Unix(), Expires: h.ExpiresAt.Unix()}
}

func (t holdTicket) start() time.Time   { return time.Unix(t.Start, 0) }
func (t holdTicket) end() time.Time     { return time.Unix(t.End, 0) }
func (t holdTicket) expires() time.Time { return time.Unix(t.Expires, 0) }

func (h *Handler) sign(payload string) string {
	m := hmac.New(sha256.New, h.Key)
	m.Write([]byte("hold ticket\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (h *Handler) encodeTicket(t holdTicket) string {
	b, _ := json.Marshal(t)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + h.sign(p)
}

func (h *Handler) decodeTicket(s string) (holdTicket, error) {
	var t holdTicket
	p, sig, ok := strings.Cut(s, ".")
	if !ok || len(s) > 2048 || !hmac.Equal([]byte(sig), []byte(h.sign(p))) {
		return t, errTicketInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return t, errTicketInvalid
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Hold == "" || len(t.Items) == 0 {
		return t, errTicketInvalid
	}
	return t, nil
}
