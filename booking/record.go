package booking

import (
	"context"
	"time"
)

// Records is the durable record of the catalog and the bookings:
// booking/postgres implements it. A UNIQUE constraint on location, grid
// cell and unit there makes a double booking impossible even when the hold
// store is wrong or lost.
type Records interface {
	CatalogLoader
	BookingRecorder
	CancelRecorder
	// BookedCells lists the booked units of a location whose cells start
	// in [from, to).
	BookedCells(ctx context.Context, location string, from, to time.Time) ([]UnitCell, error)
	// BlockedUnits lists the cancelled bookings of a location starting in
	// [from, to) whose units are still blocked at now.
	BlockedUnits(ctx context.Context, location string, from, to, now time.Time) ([]BlockedBooking, error)
	// HoldUsed reports whether a booking was made from the hold.
	HoldUsed(ctx context.Context, holdID string) (bool, error)
	// BookingByCode returns a booking and its manage-token hash, or
	// ErrBookingNotFound.
	BookingByCode(ctx context.Context, code string) (*Booking, []byte, error)
	// BookingByID returns a booking, or ErrBookingNotFound.
	BookingByID(ctx context.Context, id int64) (*Booking, error)
	// ManageSecret returns what a booking's manage token is computed
	// from: the code it was issued for and the booking's salt (nil for
	// bookings from before recomputable tokens).
	ManageSecret(ctx context.Context, id int64) (code string, salt []byte, err error)
	// ActivateBooking confirms a booking waiting for activation whose
	// deadline has not passed at now, with its confirmed and reminder
	// events; ErrNotActivatable otherwise.
	ActivateBooking(ctx context.Context, id int64, now time.Time) (*Booking, error)
	// ExpireActivations releases up to max bookings whose activation
	// deadline passed at now (cancelled, units deleted, an
	// activation_expired event each) and returns them. Rows another
	// replica is releasing are skipped, not waited for.
	ExpireActivations(ctx context.Context, now time.Time, max int) ([]*Booking, error)
	// RescheduleBooking moves a live booking to a new slot in one
	// transaction (see Reschedule) and returns the cells it freed.
	RescheduleBooking(ctx context.Context, r *Reschedule) ([]UnitCell, error)
	// RequestManageLink writes a manage_link event for the booking.
	RequestManageLink(ctx context.Context, bookingID int64, lang string, now time.Time) error
	Ping(ctx context.Context) error
}

// Reschedule moves a booking to the slot of a claimed hold: the new unit
// rows are written and the old ones deleted in one transaction, the
// booking keeps its id, code and manage token, its sequence goes up and
// a rescheduled event is written. The store answers ErrNotReschedulable
// when the booking is no longer live or no longer starts at From (a
// concurrent change won), ErrUnitTaken, ErrHoldUsed and ErrContactLimit
// like InsertBooking.
type Reschedule struct {
	BookingID int64
	// From is the start the booking had when it was looked up.
	From       time.Time
	HoldID     string
	Start, End time.Time
	Units      []int
	Cells      []UnitCell
	// Limit is the contact's count on the new local day (moved from the
	// old day when the day changes).
	Limit ContactLimit
	// RemindAt is when the new reminder is due; nil for none.
	RemindAt *time.Time
	Now      time.Time
}

// CatalogLoader reads all locations and their active services.
type CatalogLoader interface {
	LoadCatalog(ctx context.Context) ([]Location, []Service, error)
}

// CatalogSaver stores locations and their services.
type CatalogSaver interface {
	SaveCatalog(ctx context.Context, locs []Location, services []Service) error
}

// BookingRecorder writes a new booking, counted against its contact's
// limit, with the units it occupies, in one transaction; it fills in the
// booking's ID and CreatedAt. It answers ErrContactLimit, ErrHoldUsed,
// ErrUnitTaken or ErrCodeTaken for those conflicts and wraps
// ErrUnavailable (or its own store's sentinel) around failures. The payment
// flow brings its own, which writes the payment row in the same
// transaction.
type BookingRecorder interface {
	InsertBooking(ctx context.Context, nb *NewBooking) error
}

// CancelRecorder marks a booking cancelled, takes it off its contact's
// count and deletes its unit rows in one transaction, returning the freed
// cells (none when it was cancelled before). The payment flow brings its
// own, which cancels or refunds the payment in the same transaction.
type CancelRecorder interface {
	CancelBooking(ctx context.Context, b *Booking, now time.Time) ([]UnitCell, error)
}

// NewBooking is a booking about to be written.
type NewBooking struct {
	Booking *Booking
	// TokenHash is the SHA-256 of the manage token; the token itself is
	// never stored.
	TokenHash []byte
	// TokenSalt is the random salt the manage token is computed with
	// (nil when the engine has no ManageKey: the token is random).
	TokenSalt []byte
	Limit     ContactLimit
	Cells     []UnitCell
	// RemindAt is when the reminder of the confirmed booking is due; nil
	// for none. Kept with the booking, so a booking confirmed later (paid,
	// activated) gets its reminder then.
	RemindAt *time.Time
	// Now is the engine's clock; events are due from it.
	Now time.Time
}

// ContactLimit is the per-contact limit a booking is counted against.
type ContactLimit struct {
	Hash []byte // keyed hash of the normalised e-mail address
	Day  Date   // local day of the slot
	Max  int    // 0: no limit, but the booking is still counted
}

// BlockedBooking is a cancelled booking whose units stay blocked until
// Until.
type BlockedBooking struct {
	ID         int64
	Start, End time.Time
	Units      []int
	Until      time.Time
}

// UnitCell is one booked unit of one grid cell.
type UnitCell struct {
	CellStart time.Time
	Unit      int
}
