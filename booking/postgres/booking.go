package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/booking"
)

const bookingColumns = `id, code, hold_id, location_id, service_id, start_at, end_at, unit_indexes,
	name, email, status, created_at, cancelled_at, items, lang, phone, calendar_uid, sequence,
	activation_deadline, previous_start_at, previous_end_at, anonymised_at, cancel_reason`

// bookingRow is a row of bookings.
type bookingRow struct {
	ID          int64         `db:"id"`
	Code        string        `db:"code"`
	HoldID      string        `db:"hold_id"`
	LocationID  string        `db:"location_id"`
	ServiceID   string        `db:"service_id"`
	Start       time.Time     `db:"start_at"`
	End         time.Time     `db:"end_at"`
	Units       pq.Int64Array `db:"unit_indexes"`
	Name        string        `db:"name"`
	Email       string        `db:"email"`
	Status      string        `db:"status"`
	CreatedAt   time.Time     `db:"created_at"`
	CancelledAt *time.Time    `db:"cancelled_at"`
	Items       []byte        `db:"items"`
	Lang        string        `db:"lang"`
	Phone       string        `db:"phone"`
	CalendarUID string        `db:"calendar_uid"`
	Sequence    int           `db:"sequence"`
	ActivateBy  *time.Time    `db:"activation_deadline"`
	PrevStart   *time.Time    `db:"previous_start_at"`
	PrevEnd     *time.Time    `db:"previous_end_at"`
	Anonymised  *time.Time    `db:"anonymised_at"`
	// CancelReason is the office's reason of a cancellation by the
	// office ("" otherwise).
	CancelReason string `db:"cancel_reason"`
}

// itemRow is one entry of the bookings.items column.
type itemRow struct {
	Service string `json:"service"`
	Count   int    `json:"count"`
}

func itemsJSON(items []booking.Item) ([]byte, error) {
	rows := make([]itemRow, len(items))
	for i, it := range items {
		rows[i] = itemRow{Service: it.ServiceID, Count: it.Count}
	}
	return json.Marshal(rows)
}

func (r bookingRow) booking() *booking.Booking {
	b := &booking.Booking{ID: r.ID, Code: r.Code, HoldID: r.HoldID, LocationID: r.LocationID, ServiceID: r.ServiceID,
		Start: r.Start, End: r.End, Name: r.Name, Email: r.Email, Status: r.Status, CreatedAt: r.CreatedAt, CancelledAt: r.CancelledAt,
		Lang: r.Lang, Phone: r.Phone, CalendarUID: r.CalendarUID, Sequence: r.Sequence, ActivationDeadline: r.ActivateBy,
		PreviousStart: r.PrevStart, PreviousEnd: r.PrevEnd, AnonymisedAt: r.Anonymised, CancelReason: r.CancelReason}
	for _, u := range r.Units {
		b.Units = append(b.Units, int(u))
	}
	var items []itemRow
	if len(r.Items) > 0 && json.Unmarshal(r.Items, &items) == nil {
		for _, it := range items {
			b.Items = append(b.Items, booking.Item{ServiceID: it.Service, Count: it.Count})
		}
	}
	if len(b.Items) == 0 {
		// A booking of one service from before items were kept.
		b.Items = []booking.Item{{ServiceID: r.ServiceID, Count: len(b.Units)}}
	}
	return b
}

type cellRow struct {
	CellStart time.Time `db:"cell_start"`
	Unit      int       `db:"unit"`
}

func cellsOf(rows []cellRow) []booking.UnitCell {
	cells := make([]booking.UnitCell, len(rows))
	for i, r := range rows {
		cells[i] = booking.UnitCell{CellStart: r.CellStart, Unit: r.Unit}
	}
	return cells
}

// InsertBooking writes a booking and the units it occupies in one
// transaction, counted against the contact's limit. Concurrent calls
// share a transaction, each booking in a savepoint of its own with its
// own outcome (group.go).
func (s *Store) InsertBooking(ctx context.Context, nb *booking.NewBooking) error {
	return s.group.insert(ctx, nb)
}

// InsertBooking is the booking step of a transaction that writes more
// (the payment of a booking for a paid service): the contact is counted,
// the booking and its unit rows are inserted, and nb.Booking gets its ID
// and CreatedAt. Conflicts answer booking.ErrContactLimit,
// booking.ErrHoldUsed, booking.ErrUnitTaken or booking.ErrCodeTaken.
func InsertBooking(ctx context.Context, tx *sqlx.Tx, nb *booking.NewBooking) error {
	b := nb.Booking
	if err := countContact(ctx, tx, b.LocationID, nb.Limit); err != nil {
		return err
	}
	items, err := itemsJSON(b.Items)
	if err != nil {
		return fmt.Errorf("insert booking: %w", err)
	}
	lang := b.Lang
	if lang == "" {
		lang = booking.LangDE
	}
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes, name, email, status,
			contact_hash, local_day, items, lang, phone, token_salt, token_code, calendar_uid, remind_at, activation_deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $1, $18, $19, $20)
		RETURNING id, created_at`,
		b.Code, b.HoldID, nb.TokenHash, b.LocationID, b.ServiceID, b.Start, b.End, pq.Array(b.Units), b.Name, b.Email, b.Status,
		nb.Limit.Hash, nb.Limit.Day.String(), items, lang, b.Phone, nb.TokenSalt, b.CalendarUID, nb.RemindAt, b.ActivationDeadline,
	).Scan(&b.ID, &b.CreatedAt)
	if err != nil {
		return classifyInsert(err)
	}
	b.Lang = lang
	// All unit rows in one statement: one round trip however many cells,
	// which counts when a group of bookings shares a transaction.
	starts := make([]time.Time, len(nb.Cells))
	units := make([]int64, len(nb.Cells))
	for i, c := range nb.Cells {
		starts[i], units[i] = c.CellStart.UTC(), int64(c.Unit)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO booking_units (booking_id, location_id, cell_start, unit)
		SELECT $1, $2, s, u FROM unnest($3::timestamptz[], $4::int[]) AS c(s, u)`,
		b.ID, b.LocationID, pq.Array(starts), pq.Array(units)); err != nil {
		return classifyInsert(err)
	}
	now := nb.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	switch b.Status {
	case booking.StatusConfirmed:
		return confirmedEvents(ctx, tx, b.ID, lang, nb.RemindAt, now)
	case booking.StatusPendingActivation:
		return addEvent(ctx, tx, booking.EventActivationRequested, b.ID, lang, now)
	}
	return nil
}

func classifyInsert(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		switch pqErr.Constraint {
		case "booking_units_once":
			return booking.ErrUnitTaken
		case "bookings_hold_id_key":
			return booking.ErrHoldUsed
		case "bookings_code_key":
			return booking.ErrCodeTaken
		case "bookings_calendar_uid_key":
			return booking.ErrCodeTaken // drawn again with the code
		}
	}
	return unavailable("insert booking", err)
}

// BookedCells lists the booked units of a location whose cells start in
// [from, to).
func (s *Store) BookedCells(ctx context.Context, location string, from, to time.Time) ([]booking.UnitCell, error) {
	var rows []cellRow
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT cell_start, unit FROM booking_units
		WHERE location_id = $1 AND cell_start >= $2 AND cell_start < $3`, location, from, to); err != nil {
		return nil, unavailable("booked units", err)
	}
	return cellsOf(rows), nil
}

// BlockedUnits lists the cancelled bookings of a location starting in
// [from, to) whose units are still blocked at now (blocked_until is
// written by CancelBooking).
func (s *Store) BlockedUnits(ctx context.Context, location string, from, to, now time.Time) ([]booking.BlockedBooking, error) {
	var rows []struct {
		ID    int64         `db:"id"`
		Start time.Time     `db:"start_at"`
		End   time.Time     `db:"end_at"`
		Units pq.Int64Array `db:"unit_indexes"`
		Until time.Time     `db:"blocked_until"`
	}
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT id, start_at, end_at, unit_indexes, blocked_until FROM bookings
		WHERE location_id = $1 AND start_at >= $2 AND start_at < $3 AND blocked_until > $4 AND status = 'cancelled'`,
		location, from, to, now); err != nil {
		return nil, unavailable("blocked units", err)
	}
	out := make([]booking.BlockedBooking, len(rows))
	for i, r := range rows {
		units := make([]int, len(r.Units))
		for j, u := range r.Units {
			units[j] = int(u)
		}
		out[i] = booking.BlockedBooking{ID: r.ID, Start: r.Start.UTC(), End: r.End.UTC(), Units: units, Until: r.Until.UTC()}
	}
	return out, nil
}

// HoldUsed reports whether a booking was made from the hold.
func (s *Store) HoldUsed(ctx context.Context, holdID string) (bool, error) {
	var used bool
	if err := s.db.GetContext(ctx, &used, `SELECT EXISTS (SELECT 1 FROM bookings WHERE hold_id = $1)`, holdID); err != nil {
		return false, unavailable("hold used", err)
	}
	return used, nil
}

// BookingByCode returns a booking and its manage-token hash.
func (s *Store) BookingByCode(ctx context.Context, code string) (*booking.Booking, []byte, error) {
	var row struct {
		bookingRow
		TokenHash []byte `db:"manage_token_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT `+bookingColumns+`, manage_token_hash FROM bookings WHERE code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, booking.ErrBookingNotFound
	}
	if err != nil {
		return nil, nil, unavailable("booking", err)
	}
	return row.booking(), row.TokenHash, nil
}

// BookingByID returns a booking.
func (s *Store) BookingByID(ctx context.Context, id int64) (*booking.Booking, error) {
	return bookingByID(ctx, s.db, id)
}

// BookingByID is BookingByID inside a transaction.
func BookingByID(ctx context.Context, tx *sqlx.Tx, id int64) (*booking.Booking, error) {
	return bookingByID(ctx, tx, id)
}

func bookingByID(ctx context.Context, q sqlx.QueryerContext, id int64) (*booking.Booking, error) {
	var row bookingRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+bookingColumns+` FROM bookings WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrBookingNotFound
	}
	if err != nil {
		return nil, unavailable(fmt.Sprintf("booking %d", id), err)
	}
	return row.booking(), nil
}

// CancelBooking marks a booking cancelled and frees its unit rows in one
// transaction, returning the freed cells.
func (s *Store) CancelBooking(ctx context.Context, b *booking.Booking, now time.Time) ([]booking.UnitCell, error) {
	var cells []booking.UnitCell
	err := s.inTx(ctx, func(tx *sqlx.Tx) (err error) {
		cells, err = CancelBooking(ctx, tx, b.ID, now)
		return err
	})
	return cells, err
}

// CancelBooking is the booking step of a cancelling transaction: the
// booking is marked cancelled, taken off its contact's count and its unit
// rows are deleted; the freed cells are returned (none when it was
// cancelled before).
func CancelBooking(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) ([]booking.UnitCell, error) {
	var counted struct {
		Location string  `db:"location_id"`
		Day      *string `db:"local_day"`
		Hash     []byte  `db:"contact_hash"`
		Lang     string  `db:"lang"`
		Was      string  `db:"was"`
	}
	err := tx.GetContext(ctx, &counted, `
		UPDATE bookings b SET status = 'cancelled', cancelled_at = $2, sequence = b.sequence + 1,
			blocked_until = (SELECT CASE WHEN l.cancel_block_minutes > 0
				THEN date_trunc('milliseconds', $2::timestamptz) + make_interval(mins => l.cancel_block_minutes) END
				FROM locations l WHERE l.id = b.location_id)
		FROM (SELECT id, status FROM bookings WHERE id = $1 FOR UPDATE) old
		WHERE b.id = old.id AND old.status <> 'cancelled'
		RETURNING b.location_id, b.local_day::text, b.contact_hash, b.lang, old.status AS was`, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // already cancelled
	}
	if err != nil {
		return nil, unavailable("cancel", err)
	}
	// A cancelled appointment no longer counts against its contact's
	// limit.
	if err := uncount(ctx, tx, counted.Location, counted.Day, counted.Hash); err != nil {
		return nil, err
	}
	if err := supersedeReminders(ctx, tx, id, now); err != nil {
		return nil, err
	}
	// A booking never confirmed to the citizen (its payment was still
	// open) is cancelled without a mail.
	if counted.Was != booking.StatusPendingPayment {
		if err := addEvent(ctx, tx, booking.EventCancelled, id, counted.Lang, now); err != nil {
			return nil, err
		}
	}
	return freeUnits(ctx, tx, id)
}

// freeUnits deletes a booking's unit rows and returns the cells.
func freeUnits(ctx context.Context, tx *sqlx.Tx, id int64) ([]booking.UnitCell, error) {
	var rows []cellRow
	if err := tx.SelectContext(ctx, &rows, `
		DELETE FROM booking_units WHERE booking_id = $1 RETURNING cell_start, unit`, id); err != nil {
		return nil, unavailable("free units", err)
	}
	return cellsOf(rows), nil
}

// uncount takes a booking off its contact's count. Bookings from before
// the limit have no hash and were never counted.
func uncount(ctx context.Context, tx *sqlx.Tx, location string, day *string, hash []byte) error {
	if hash == nil || day == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE contact_days SET bookings = bookings - 1
		WHERE location_id = $1 AND day = $2 AND contact_hash = $3 AND bookings > 0`,
		location, *day, hash); err != nil {
		return unavailable("uncount contact", err)
	}
	return nil
}

// ConfirmPending turns a pending booking into a confirmed one inside the
// caller's transaction, with its confirmed and reminder events. Its units
// are already booked, so Redis is not touched. booking.ErrNotPending when
// it was confirmed or cancelled before.
func ConfirmPending(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) (*booking.Booking, error) {
	var row struct {
		bookingRow
		RemindAt *time.Time `db:"remind_at"`
	}
	err := tx.GetContext(ctx, &row, `
		UPDATE bookings SET status = 'confirmed' WHERE id = $1 AND status = 'pending_payment'
		RETURNING `+bookingColumns+`, remind_at`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrNotPending
	}
	if err != nil {
		return nil, unavailable(fmt.Sprintf("confirm booking %d", id), err)
	}
	if err := confirmedEvents(ctx, tx, id, row.Lang, row.RemindAt, now); err != nil {
		return nil, err
	}
	return row.booking(), nil
}

// ExpirePending cancels a pending booking and deletes its unit rows
// inside the caller's transaction. After the commit the caller must have
// the engine free the units (Engine.FreeUnits). booking.ErrNotPending when
// the booking was confirmed or cancelled before.
func ExpirePending(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) (*booking.Booking, error) {
	var row bookingRow
	err := tx.GetContext(ctx, &row, `
		UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1 AND status = 'pending_payment'
		RETURNING `+bookingColumns, id, now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrNotPending
	}
	if err != nil {
		return nil, unavailable(fmt.Sprintf("expire booking %d", id), err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM booking_units WHERE booking_id = $1`, id); err != nil {
		return nil, unavailable(fmt.Sprintf("free units of booking %d", id), err)
	}
	return row.booking(), nil
}

// CarryManageToken gives booking to the manage token of booking from, so
// a citizen whose booking was made again (a late payment) keeps managing
// it with the token they were given; the salt and the code the token was
// issued for come along, so the token can still be rebuilt.
func CarryManageToken(ctx context.Context, tx *sqlx.Tx, from, to int64) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE bookings b SET manage_token_hash = f.manage_token_hash, token_salt = f.token_salt, token_code = f.token_code
		FROM bookings f WHERE f.id = $1 AND b.id = $2`,
		from, to); err != nil {
		return unavailable("carry manage token", err)
	}
	return nil
}

// CountLiveUnits counts the booked unit rows of a location in [from, to);
// tests and the operator check compare it with what Redis believes.
func (s *Store) CountLiveUnits(ctx context.Context, location string, from, to time.Time) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM booking_units WHERE location_id = $1 AND cell_start >= $2 AND cell_start < $3`,
		location, from, to)
	return n, err
}

// prefixed qualifies every column of a column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
