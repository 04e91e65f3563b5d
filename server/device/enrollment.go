package device

import (
	"encoding/json"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

type enrollRequest struct {
	Code string `json:"code"`
}

// Device is a kiosk or scanner as the API shows it (to the device itself
// and to the administrator).
type Device struct {
	ID         string          `json:"id"`
	Location   string          `json:"location"`
	Name       string          `json:"name"`
	Mode       string          `json:"mode"`
	CreatedAt  time.Time       `json:"created_at"`
	EnrolledAt *time.Time      `json:"enrolled_at,omitempty"`
	LastSeenAt *time.Time      `json:"last_seen_at,omitempty"`
	Version    *string         `json:"version,omitempty"`
	Status     json.RawMessage `json:"status"`
}

// NewDevice maps a device to its payload.
func NewDevice(d *booking.Device) Device {
	return Device{ID: d.ID, Location: d.LocationID, Name: d.Name, Mode: d.Mode, CreatedAt: d.CreatedAt,
		EnrolledAt: d.EnrolledAt, LastSeenAt: d.LastSeenAt, Version: d.Version, Status: d.Status}
}

type enrollJSON struct {
	Device    Device `json:"device"`
	Token     string `json:"token"`
	PublicKey string `json:"public_key"`
}

type publicKeyJSON struct {
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key"`
}
