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
	// HoldUsed reports whether a booking was made from the hold.
	HoldUsed(ctx context.Context, holdID string) (bool, error)
	// BookingByCode returns a booking and its manage-token hash, or
	// ErrBookingNotFound.
	BookingByCode(ctx context.Context, code string) (*Booking, []byte, error)
	// BookingByID returns a booking, or ErrBookingNotFound.
	BookingByID(ctx context.Context, id int64) (*Booking, error)
	Ping(ctx context.Context) error
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
	Limit     ContactLimit
	Cells     []UnitCell
}

// ContactLimit is the per-contact limit a booking is counted against.
type ContactLimit struct {
	Hash []byte // keyed hash of the normalised e-mail address
	Day  Date   // local day of the slot
	Max  int    // 0: no limit, but the booking is still counted
}

// UnitCell is one booked unit of one grid cell.
type UnitCell struct {
	CellStart time.Time
	Unit      int
}
