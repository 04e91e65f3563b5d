package booking

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	ID         string          `json:"id" db:"id"`
	LocationID string          `json:"location" db:"location_id"`
	Name       string          `json:"name" db:"name"`
	Mode       string          `json:"mode" db:"mode"`
	CreatedAt  time.Time       `json:"created_at" db:"created_at"`
	EnrolledAt *time.Time      `json:"enrolled_at,omitempty" db:"enrolled_at"`
	LastSeenAt *time.Time      `json:"last_seen_at,omitempty" db:"last_seen_at"`
	Version    *string         `json:"version,omitempty" db:"version"`
	Status     json.RawMessage `json:"status" db:"status"`
}

const deviceColumns = `id, location_id, name, mode, created_at, enrolled_at, last_seen_at, version, status`

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// RegisterDevice creates a device and returns its one-time enrollment
// code, valid for validFor.
func (p *Postgres) RegisterDevice(ctx context.Context, locationID, name, mode string, validFor time.Duration) (*Device, string, error) {
	if mode != ModeCounter && mode != ModeGate {
		return nil, "", ErrDeviceMode
	}
	code := randomCode(4) + "-" + randomCode(4) + "-" + randomCode(4)
	var d Device
	err := p.db.GetContext(ctx, &d, `
		INSERT INTO devices (id, location_id, name, mode, enrollment_hash, enrollment_expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second')
		RETURNING `+deviceColumns,
		"dev-"+randomCode(10), locationID, name, mode, hashSecret(code), int(validFor.Seconds()))
	if err != nil {
		return nil, "", fmt.Errorf("%w: register device: %w", ErrUnavailable, err)
	}
	return &d, code, nil
}

// EnrollDevice exchanges an enrollment code for a device token. The code
// works once; the token is stored only as a hash.
func (p *Postgres) EnrollDevice(ctx context.Context, code string) (*Device, string, error) {
	token := randomToken() + randomToken()
	var d Device
	err := p.db.GetContext(ctx, &d, `
		UPDATE devices SET enrollment_hash = NULL, enrollment_expires_at = NULL, token_hash = $2, enrolled_at = now()
		WHERE enrollment_hash = $1 AND enrollment_expires_at > now()
		RETURNING `+deviceColumns, hashSecret(code), hashSecret(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrEnrollmentCode
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: enroll device: %w", ErrUnavailable, err)
	}
	return &d, token, nil
}

// DeviceByToken authenticates a device.
func (p *Postgres) DeviceByToken(ctx context.Context, token string) (*Device, error) {
	var d Device
	err := p.db.GetContext(ctx, &d, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, hashSecret(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDeviceUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("%w: device: %w", ErrUnavailable, err)
	}
	return &d, nil
}

// Heartbeat stores a device's reported status.
func (p *Postgres) Heartbeat(ctx context.Context, id, version string, status json.RawMessage) error {
	if _, err := p.db.ExecContext(ctx, `
		UPDATE devices SET last_seen_at = now(), version = $2, status = $3 WHERE id = $1`, id, version, status); err != nil {
		return fmt.Errorf("%w: heartbeat: %w", ErrUnavailable, err)
	}
	return nil
}

// Devices lists all devices.
func (p *Postgres) Devices(ctx context.Context) ([]Device, error) {
	ds := []Device{}
	if err := p.db.SelectContext(ctx, &ds, `SELECT `+deviceColumns+` FROM devices ORDER BY location_id, name`); err != nil {
		return nil, fmt.Errorf("%w: devices: %w", ErrUnavailable, err)
	}
	return ds, nil
}

// SigningKey returns the key that signs QR tickets, creating it on first
// use; all replicas share it through PostgreSQL.
func (p *Postgres) SigningKey(ctx context.Context) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if _, err := p.db.ExecContext(ctx, `INSERT INTO signing_keys (id, seed) VALUES (1, $1) ON CONFLICT DO NOTHING`, seed); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := p.db.GetContext(ctx, &seed, `SELECT seed FROM signing_keys WHERE id = 1`); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
