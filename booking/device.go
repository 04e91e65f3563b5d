package booking

import (
	"encoding/json"
	"errors"
	"time"
)

// Device modes.
const (
	ModeCounter = "counter"
	ModeGate    = "gate"
)

// Device outcomes.
var (
	ErrDeviceUnknown  = errors.New("device unknown or token invalid")
	ErrEnrollmentCode = errors.New("enrollment code unknown, used or expired")
	ErrDeviceMode     = errors.New("device mode must be counter or gate")
)

// Device is a kiosk or an entrance scanner.
type Device struct {
	ID         string
	LocationID string
	Name       string
	Mode       string
	CreatedAt  time.Time
	EnrolledAt *time.Time
	LastSeenAt *time.Time
	Version    *string
	// Status is the device's last reported status, a JSON document the
	// device defines.
	Status json.RawMessage
}

// NewEnrollmentCode returns a one-time code a new device is enrolled
// with: three groups of four Crockford base32 characters (60 bits), short
// enough to type at a counter PC.
func NewEnrollmentCode() string {
	return RandomCode(4) + "-" + RandomCode(4) + "-" + RandomCode(4)
}

// NewDeviceID returns a fresh device id.
func NewDeviceID() string { return "dev-" + RandomCode(10) }

// NewDeviceToken returns a device's bearer token (256 bits).
func NewDeviceToken() string { return NewToken() + NewToken() }
