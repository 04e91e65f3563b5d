package device

import (
	"encoding/json"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/citizen"
)

// serviceJSON is a service as a kiosk offers it for walk-ins.
type serviceJSON struct {
	ID              string `json:"id"`
	Location        string `json:"location"`
	Name            string `json:"name"`
	DurationMinutes int    `json:"duration_minutes"`
	FeeCents        int64  `json:"fee_cents"`
	Payment         string `json:"payment"`
	MaxUnits        int    `json:"max_units"`
	QueuePrefix     string `json:"queue_prefix,omitempty"`
}

func newServiceJSON(s *booking.Service) serviceJSON {
	return serviceJSON{ID: s.ID, Location: s.LocationID, Name: s.Name, DurationMinutes: s.DurationMinutes,
		FeeCents: s.FeeCents, Payment: s.Payment, MaxUnits: s.MaxUnits, QueuePrefix: s.QueuePrefix}
}

// configJSON is everything a device needs to run: its location, the
// services it offers and how to check tickets offline.
type configJSON struct {
	Device   Device           `json:"device"`
	Location citizen.Location `json:"location"`
	Services []serviceJSON    `json:"services"`
	// PublicKey is the active key, for devices that know only one.
	PublicKey string `json:"public_key"`
	// Keys are all keys a ticket may be signed with now: the active one
	// and the retired ones until their tickets are past.
	Keys             []ticketKeyJSON `json:"keys"`
	GateEarlySeconds int             `json:"gate_early_seconds"`
	GateLateSeconds  int             `json:"gate_late_seconds"`
	// Revoked lists, for a gate, the codes of cancelled bookings whose
	// slots end after now minus the late grace and start within
	// revocationHorizon: the tickets it refuses while offline.
	Revoked []string `json:"revoked,omitempty"`
	// RevokedAt is when the list was read.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// revocationHorizon is how far ahead a gate's revocation list reaches: a
// gate that stays offline longer refuses only what it learnt before, and
// its uploads are flagged.
const revocationHorizon = 48 * time.Hour

type heartbeatRequest struct {
	Version string          `json:"version"`
	Status  json.RawMessage `json:"status"`
}

// ticketKeyJSON is one QR ticket key a device verifies with.
type ticketKeyJSON struct {
	// ID is what a ticket's "k" claim names; tickets without one are
	// checked against every key.
	ID        int64  `json:"id"`
	PublicKey string `json:"public_key"`
	Active    bool   `json:"active"`
	// VerifyUntil is when a retired key stops verifying; absent while
	// not yet fixed and for the active key.
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
}
