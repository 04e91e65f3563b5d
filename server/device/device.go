// Package device serves the API of counter kiosks and entrance scanners:
// enrollment, the public key they verify tickets with, and, behind the
// device token, their configuration, heartbeats, walk-ins, check-ins and
// entrance redemptions.
package device

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// Catalog is the city's locations and services.
type Catalog interface {
	Location(id string) (*booking.Location, *time.Location, error)
	Services(locationID string) ([]booking.Service, error)
	Service(locationID, serviceID string) (*booking.Service, error)
}

// Registry enrolls devices and records their heartbeats.
type Registry interface {
	auth.DeviceFinder
	EnrollDevice(ctx context.Context, code string) (*booking.Device, string, error)
	Heartbeat(ctx context.Context, id, version string, status json.RawMessage) error
}

// Queue draws queue numbers and records entrance scans.
type Queue interface {
	WalkIn(ctx context.Context, locationID, serviceID string) (*booking.QueueTicket, error)
	CheckIn(ctx context.Context, locationID, code string) (*booking.QueueTicket, error)
	Redeem(ctx context.Context, deviceID string, r booking.Redemption) (*booking.Redemption, error)
	// AppointmentStart returns the start of the booking a checked-in
	// ticket stands for.
	AppointmentStart(ctx context.Context, bookingID int64) (time.Time, error)
}

// Revocations lists the tickets an entrance must refuse while offline:
// those of cancelled bookings.
type Revocations interface {
	RevokedCodes(ctx context.Context, location string, from, to time.Time) ([]string, error)
}

// TicketKeys are the keys QR tickets are signed with, as last read.
type TicketKeys interface {
	Keys() booking.TicketKeys
}

// Handler serves the devices' API.
type Handler struct {
	Catalog  Catalog
	Registry Registry
	Queue    Queue
	// Revocations fills the revocation list of a gate's configuration;
	// nil sends none.
	Revocations Revocations
	// Keys are the ticket keys that verify signatures, the active one and
	// the retired ones still valid; when nil, PublicKey alone does.
	Keys TicketKeys
	// PublicKey verifies the tickets' signatures without Keys.
	PublicKey ed25519.PublicKey
	// GateEarly and GateLate widen a ticket's slot at the entrance.
	GateEarly, GateLate time.Duration
	// Now is the clock scans without their own time are recorded at.
	Now func() time.Time
}

// Routes mounts the devices' routes on the /api/v1 group.
func (h *Handler) Routes(v1 fiber.Router) {
	v1.Get("/tickets/key", h.publicKey)
	v1.Post("/devices/enroll", h.enroll)

	dev := v1.Group("/kiosk", auth.Device(h.Registry))
	dev.Get("/config", h.config)
	dev.Post("/heartbeat", h.heartbeat)
	dev.Post("/walk-ins", h.walkIn)
	dev.Post("/check-ins", h.checkIn)
	dev.Post("/redemptions", h.redeem)
}

// ticketKeys returns the keys that verify tickets now.
func (h *Handler) ticketKeys() booking.TicketKeys {
	if h.Keys != nil {
		return h.Keys.Keys()
	}
	return booking.TicketKeys{{ID: booking.FirstTicketKeyID, Public: h.PublicKey, Active: true}}
}

// activePublicKey is the key that signs new tickets, for devices that
// know only one.
func (h *Handler) activePublicKey() ed25519.PublicKey {
	for _, k := range h.ticketKeys() {
		if k.Active {
			return k.Public
		}
	}
	return h.PublicKey
}
