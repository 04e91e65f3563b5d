package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

const deviceColumns = `id, location_id, name, mode, created_at, enrolled_at, last_seen_at, version, status`

type deviceRow struct {
	ID         string          `db:"id"`
	LocationID string          `db:"location_id"`
	Name       string          `db:"name"`
	Mode       string          `db:"mode"`
	CreatedAt  time.Time       `db:"created_at"`
	EnrolledAt *time.Time      `db:"enrolled_at"`
	LastSeenAt *time.Time      `db:"last_seen_at"`
	Version    *string         `db:"version"`
	Status     json.RawMessage `db:"status"`
}

func (r deviceRow) device() *booking.Device {
	d := booking.Device(r)
	return &d
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// RegisterDevice creates a device and returns its one-time enrollment
// code, valid for validFor.
func (s *Store) RegisterDevice(ctx context.Context, locationID, name, mode string, validFor time.Duration) (*booking.Device, string, error) {
	if mode != booking.ModeCounter && mode != booking.ModeGate {
		return nil, "", booking.ErrDeviceMode
	}
	code := booking.NewEnrollmentCode()
	var d deviceRow
	err := s.db.GetContext(ctx, &d, `
		INSERT INTO devices (id, location_id, name, mode, enrollment_hash, enrollment_expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second')
		RETURNING `+deviceColumns,
		booking.NewDeviceID(), locationID, name, mode, hashSecret(code), int(validFor.Seconds()))
	if err != nil {
		return nil, "", unavailable("register device", err)
	}
	return d.device(), code, nil
}

// EnrollDevice exchanges an enrollment code for a device token. The code
// works once; the token is stored only as a hash.
func (s *Store) EnrollDevice(ctx context.Context, code string) (*booking.Device, string, error) {
	token := booking.NewDeviceToken()
	var d deviceRow
	err := s.db.GetContext(ctx, &d, `
		UPDATE devices SET enrollment_hash = NULL, enrollment_expires_at = NULL, token_hash = $2, enrolled_at = now()
		WHERE enrollment_hash = $1 AND enrollment_expires_at > now()
		RETURNING `+deviceColumns, hashSecret(code), hashSecret(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", booking.ErrEnrollmentCode
	}
	if err != nil {
		return nil, "", unavailable("enroll device", err)
	}
	return d.device(), token, nil
}

// DeviceByToken authenticates a device.
func (s *Store) DeviceByToken(ctx context.Context, token string) (*booking.Device, error) {
	var d deviceRow
	err := s.db.GetContext(ctx, &d, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, hashSecret(token))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrDeviceUnknown
	}
	if err != nil {
		return nil, unavailable("device", err)
	}
	return d.device(), nil
}

// Heartbeat stores a device's reported status.
func (s *Store) Heartbeat(ctx context.Context, id, version string, status json.RawMessage) error {
	if _, err := s.db.ExecContext(ctx, `
		UPDATE devices SET last_seen_at = now(), version = $2, status = $3 WHERE id = $1`, id, version, status); err != nil {
		return unavailable("heartbeat", err)
	}
	return nil
}

// Devices lists all devices.
func (s *Store) Devices(ctx context.Context) ([]booking.Device, error) {
	var rows []deviceRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+deviceColumns+` FROM devices ORDER BY location_id, name`); err != nil {
		return nil, unavailable("devices", err)
	}
	ds := make([]booking.Device, len(rows))
	for i, r := range rows {
		ds[i] = *r.device()
	}
	return ds, nil
}
