package booking

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// ReservedLocationIDs are the first path segments the server's own pages
// use; a location with one of these ids could never be reached under
// /{location}.
var ReservedLocationIDs = []string{"intern", "display", "assets", "api", "termin", "warten",
	"reservierung", "zahlung", "sprache", "barrierefreiheit"}

// Administration outcomes.
var (
	ErrIDInvalid  = errors.New("id must be 1 to 63 lower-case letters, digits or hyphens, starting with a letter or digit")
	ErrIDReserved = errors.New("id is reserved for the server's own pages")
	// ErrConflicts reports a catalog change that would leave live
	// bookings outside the new rules; see Conflicts.
	ErrConflicts = errors.New("the change conflicts with existing bookings")
)

// idPattern is what the locations and services tables accept as ids.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CheckID checks the id of a new location or service.
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return ErrIDInvalid
	}
	return nil
}

// CheckLocationID checks the id of a new location: an id, and none of the
// reserved path segments.
func CheckLocationID(id string) error {
	if err := CheckID(id); err != nil {
		return err
	}
	for _, r := range ReservedLocationIDs {
		if id == r {
			return ErrIDReserved
		}
	}
	return nil
}

// HoldsKey names the location in the hold store. The bitmaps of a day are
// laid out by capacity and slot length, so a location whose layout
// changed keeps its days under new keys, which are loaded afresh from the
// record store; holds placed under the old layout are gone (bookings are
// in the record store and never lost).
func (l *Location) HoldsKey() string {
	if l.LayoutVersion == 0 {
		return l.ID
	}
	return l.ID + ":v" + strconv.Itoa(l.LayoutVersion)
}

// Reasons a live booking conflicts with a catalog change.
const (
	ConflictClosed   = "closed"   // its day is closed or it lies outside the opening hours
	ConflictCapacity = "capacity" // one of its units is beyond the new capacity
	ConflictGrid     = "grid"     // it no longer lies on the grid of the new slot length
	ConflictService  = "service"  // one of its services is removed
)

// Conflict is a live booking a catalog change would leave outside the
// rules, with the first reason found.
type Conflict struct {
	Booking Booking
	Reason  string
}

// ConflictsWith lists the live bookings (from now on) that the location
// l, with its active services, would leave outside its rules: on a
// closed day or outside the opening hours, on a unit beyond the
// capacity, off the slot grid, or of a removed service. bookings are the
// location's live bookings starting at or after now.
func ConflictsWith(l *Location, services []Service, bookings []Booking) ([]Conflict, error) {
	tz, err := l.TimeLocation()
	if err != nil {
		return nil, err
	}
	active := make(map[string]bool, len(services))
	for _, s := range services {
		active[s.ID] = true
	}
	var out []Conflict
	for _, b := range bookings {
		if !b.Live() {
			continue
		}
		if reason := conflictOf(l, tz, active, &b); reason != "" {
			out = append(out, Conflict{Booking: b, Reason: reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Booking.Start.Before(out[j].Booking.Start) })
	return out, nil
}

func conflictOf(l *Location, tz *time.Location, active map[string]bool, b *Booking) string {
	items := b.Items
	if len(items) == 0 {
		items = []Item{{ServiceID: b.ServiceID, Count: 1}}
	}
	for _, it := range items {
		if !active[it.ServiceID] {
			return ConflictService
		}
	}
	for _, u := range b.Units {
		if u >= l.Capacity {
			return ConflictCapacity
		}
	}
	d := DateOf(b.Start.In(tz))
	slot := time.Duration(l.SlotMinutes) * time.Minute
	if b.Start.Sub(d.Midnight(tz))%slot != 0 || b.End.Sub(b.Start)%slot != 0 {
		return ConflictGrid
	}
	for _, p := range l.OpenPeriods(d, tz) {
		if !b.Start.Before(p.Start) && !b.End.After(p.End) {
			return ""
		}
	}
	return ConflictClosed
}

// LiveBookings lists the live bookings of a location starting at or
// after from.
type LiveBookings interface {
	LiveBookingsFrom(ctx context.Context, locationID string, from time.Time) ([]Booking, error)
}

// Conflicts lists the live bookings from now on that the changed
// location l with its active services would leave outside its rules.
func (e *Engine) Conflicts(ctx context.Context, src LiveBookings, l *Location, services []Service) ([]Conflict, error) {
	bs, err := src.LiveBookingsFrom(ctx, l.ID, e.Now())
	if err != nil {
		return nil, err
	}
	return ConflictsWith(l, services, bs)
}

// CancelByStaff cancels a booking for the office, without its manage
// token (the caller is an administrator who has seen it among the
// conflicts of a change). rec writes the cancellation (the payment
// flow's also cancels or refunds the payment in the same transaction,
// and the record store writes the cancellation mail's event in it);
// the engine's record store when nil. Cancelling a cancelled booking is
// not an error.
func (e *Engine) CancelByStaff(ctx context.Context, bookingID int64, rec CancelRecorder) (*Booking, error) {
	b, err := e.records.BookingByID(ctx, bookingID)
	if err != nil {
		return nil, err
	}
	if b.Status == StatusCancelled {
		return b, nil
	}
	if rec == nil {
		rec = e.records
	}
	cells, err := rec.CancelBooking(ctx, b, e.Now())
	if errors.Is(err, ErrAlreadyCancelled) {
		b.Status = StatusCancelled
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cancel booking %d for the office: %w", bookingID, err)
	}
	if l, tz, lerr := e.Location(b.LocationID); lerr == nil {
		d := DateOf(b.Start.In(tz))
		if err := e.holds.Unmark(ctx, l.HoldsKey(), d, offsetsOf(l, d, tz, cells)); err != nil && !errors.Is(err, ErrDayNotLoaded) {
			// The units stay blocked until the day is reloaded: a lost
			// unit, never a double booking.
			e.log.WarnContext(ctx, "free cancelled units in the hold store", "err", err)
		}
	}
	b.Status, b.Sequence = StatusCancelled, b.Sequence+1
	return b, nil
}
