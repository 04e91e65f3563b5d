package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// CatalogChannel is the PostgreSQL NOTIFY channel a catalog change is
// announced on; its payload is the new catalog version.
const CatalogChannel = "termin_catalog"

// bumpCatalog raises the catalog version in the changing transaction and
// announces it (NOTIFY is delivered when the transaction commits).
func bumpCatalog(ctx context.Context, tx *sqlx.Tx) error {
	var v int64
	if err := tx.GetContext(ctx, &v, `UPDATE catalog_version SET version = version + 1 RETURNING version`); err != nil {
		return unavailable("bump catalog version", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, CatalogChannel, fmt.Sprint(v)); err != nil {
		return unavailable("announce catalog version", err)
	}
	return nil
}

// bumpLayouts raises the layout version of the locations whose capacity
// or slot length is about to change (before the change is written).
func bumpLayouts(ctx context.Context, tx *sqlx.Tx, locs []booking.Location) error {
	for _, l := range locs {
		if _, err := tx.ExecContext(ctx, `
			UPDATE locations SET layout_version = layout_version + 1
			WHERE id = $1 AND (capacity <> $2 OR slot_minutes <> $3)`, l.ID, l.Capacity, l.SlotMinutes); err != nil {
			return unavailable("layout version of "+l.ID, err)
		}
	}
	return nil
}

// loadLayouts fills in the locations' layout versions.
func loadLayouts(ctx context.Context, q sqlx.QueryerContext, locs []booking.Location) error {
	var rows []struct {
		ID      string `db:"id"`
		Version int    `db:"layout_version"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, layout_version FROM locations`); err != nil {
		return unavailable("layout versions", err)
	}
	byID := make(map[string]int, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.Version
	}
	for i := range locs {
		locs[i].LayoutVersion = byID[locs[i].ID]
	}
	return nil
}

// CatalogVersion is the version of the catalog: it goes up with every
// SaveCatalog, so a replica can tell cheaply that it must reload.
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.GetContext(ctx, &v, `SELECT version FROM catalog_version`)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("catalog version", err)
	}
	return v, nil
}

// LiveBookingsFrom lists the live bookings of a location starting at or
// after from, the earliest first.
func (s *Store) LiveBookingsFrom(ctx context.Context, locationID string, from time.Time) ([]booking.Booking, error) {
	var rows []bookingRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+bookingColumns+` FROM bookings
		WHERE location_id = $1 AND start_at >= $2 AND status <> 'cancelled' ORDER BY start_at, id`, locationID, from); err != nil {
		return nil, unavailable("live bookings of "+locationID, err)
	}
	out := make([]booking.Booking, len(rows))
	for i, r := range rows {
		out[i] = *r.booking()
	}
	return out, nil
}

// NoteStaffCancellation records who in the office cancels a booking and
// why; it is written before the cancellation, so a cancelled booking
// always has it.
func (s *Store) NoteStaffCancellation(ctx context.Context, bookingID, accountID int64, reason string) error {
	if _, err := s.db.ExecContext(ctx, `
		UPDATE bookings SET cancelled_by_account = $2, cancel_reason = $3 WHERE id = $1 AND status <> 'cancelled'`,
		bookingID, accountID, reason); err != nil {
		return unavailable(fmt.Sprintf("note cancellation of booking %d", bookingID), err)
	}
	return nil
}

// RevokeDevice ends a device's token (and an unused enrollment code): the
// device no longer authenticates. booking.ErrDeviceUnknown when there is
// no such device.
func (s *Store) RevokeDevice(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE devices SET token_hash = NULL, enrollment_hash = NULL, enrollment_expires_at = NULL,
			revoked_at = COALESCE(revoked_at, now())
		WHERE id = $1`, id)
	if err != nil {
		return unavailable("revoke device "+id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return booking.ErrDeviceUnknown
	}
	return nil
}

// RevokedDevices returns the ids of the revoked devices with the time of
// their revocation.
func (s *Store) RevokedDevices(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		ID        string    `db:"id"`
		RevokedAt time.Time `db:"revoked_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, revoked_at FROM devices WHERE revoked_at IS NOT NULL`); err != nil {
		return nil, unavailable("revoked devices", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.ID] = r.RevokedAt
	}
	return out, nil
}
