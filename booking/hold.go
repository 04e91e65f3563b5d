package booking

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Holds keep reservations and the availability bitmap of each
// location-day: booking/redis implements them with one Lua script per
// operation. A location-day's bitmap has bit cell*capacity+unit set while
// the unit of that grid cell is held or booked.
//
// Every operation but Unmark and Peek answers ErrDayNotLoaded for a day
// whose booked units were never copied in (or were lost); the engine then
// loads the day from the record store with Mark and tries again.
type Holds interface {
	// Hold takes req.Units free units for the cells of the request, or
	// answers ErrSlotFull.
	Hold(ctx context.Context, req HoldRequest) (units []int, err error)
	// Release frees a live hold's units and reports whether it was live.
	// A claimed hold is only released when force is set.
	Release(ctx context.Context, location string, d Date, id string, now time.Time, force bool) (bool, error)
	// Claim marks a live hold as being booked, pushes its expiry out to at
	// least until and returns it; nil when the hold is gone.
	Claim(ctx context.Context, location string, d Date, id string, now, until time.Time) (*HoldRecord, error)
	// Unclaim undoes Claim after the booking could not be written.
	Unclaim(ctx context.Context, location string, d Date, id string) error
	// Confirm forgets a hold whose booking is written, keeping its bits.
	Confirm(ctx context.Context, location string, d Date, id string) error
	// Mark sets booked bits and marks the day loaded. It only sets bits,
	// so it is safe to repeat and to run alongside holds. The load that
	// finds the day not loaded also adds the blocks still running at now.
	Mark(ctx context.Context, location string, d Date, keyTTL time.Duration, offsets []int, blocks []Block, now time.Time) error
	// Unmark clears the bits of cancelled units of a loaded day.
	Unmark(ctx context.Context, location string, d Date, offsets []int) error
	// Block keeps the bits of a cancelled booking's units set until
	// until, when they are freed like an expired hold's. A day that is
	// not loaded is left alone (loading it reads the block).
	Block(ctx context.Context, location string, d Date, id string, until, now time.Time, offsets []int) error
	// Bitmap returns the day's bitmap after sweeping expired holds.
	Bitmap(ctx context.Context, location string, d Date, now time.Time) ([]byte, error)
	// Bitmaps is Bitmap for several days in one round trip. A day the
	// store has no state of gets a nil bitmap and its index in missing.
	Bitmaps(ctx context.Context, location string, days []Date, now time.Time) (bitmaps [][]byte, missing []int, err error)
	// Peek returns a hold without changing it; nil when it is gone.
	Peek(ctx context.Context, location string, d Date, id string) (*HoldRecord, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// ErrDayNotLoaded reports a location-day the hold store has no state of.
// The engine handles it; it never reaches a caller of Engine.
var ErrDayNotLoaded = errors.New("location-day not loaded into the hold store")

// HoldRequest asks for units of consecutive grid cells of one
// location-day.
type HoldRequest struct {
	ID       string
	Location string
	Day      Date
	Capacity int
	// First is the first grid cell of the day, Cells how many.
	First, Cells int
	Units        int
	Now, Expires time.Time
	// KeyTTL is how long the day's state is kept after this change.
	KeyTTL time.Duration
	// Service, Items, Start and End are kept with the hold for its
	// booking; Service is the first item's.
	Service    string
	Items      []Item
	Start, End time.Time
}

// HoldRecord is what a hold store keeps of a hold besides its bits.
type HoldRecord struct {
	Service string
	// Items of the hold; a hold written before multi-service holds has
	// none and stands for its Service with one unit per unit held.
	Items      []Item
	Start, End time.Time
	Units      []int
	// Placed is when the hold was placed; zero for records from before.
	Placed time.Time
	// Expires is when the hold lapses (zero when the store does not say).
	Expires time.Time
}

// Block is a cancelled booking's units of one day that stay blocked until
// Until.
type Block struct {
	ID      string
	Until   time.Time
	Offsets []int
}

// blockID names the block of a cancelled booking in the hold store; it
// can never parse as a hold id.
func blockID(bookingID int64) string { return "cancelled:" + strconv.FormatInt(bookingID, 10) }

// HolderIndex remembers each holder's one live hold per location
// (booking/redis implements it).
type HolderIndex interface {
	// Swap makes holdID the holder's hold at the location for ttl and
	// returns the one it replaced ("" when none).
	Swap(ctx context.Context, holder, location, holdID string, ttl time.Duration) (string, error)
	// Current returns the holder's hold at the location ("" when none).
	Current(ctx context.Context, holder, location string) (string, error)
}

// items returns the record's items, filling in those of an old record.
func (r *HoldRecord) items() []Item {
	if len(r.Items) > 0 {
		return r.Items
	}
	return []Item{{ServiceID: r.Service, Count: len(r.Units)}}
}

// maxKeyTTL bounds every hold store key's lifetime: the longest horizon
// plus the days a day's state is kept after it.
const maxKeyTTL = (MaxHorizonDays + 3) * 24 * time.Hour

// keyTTL keeps a location-day's hold state until two days after it ends.
// Callers only ever touch days inside the booking window; the bound is a
// second line so no key can outlive its day by years.
func keyTTL(d Date, tz *time.Location, now time.Time) time.Duration {
	ttl := d.AddDays(3).Midnight(tz).Sub(now)
	if ttl < time.Hour {
		ttl = time.Hour
	}
	if ttl > maxKeyTTL {
		ttl = maxKeyTTL
	}
	return ttl
}

// offsetsOf turns booked cells of a day into bitmap offsets.
func offsetsOf(l *Location, d Date, tz *time.Location, cells []UnitCell) []int {
	offs := make([]int, 0, len(cells))
	for _, c := range cells {
		if c.Unit >= l.Capacity {
			continue // capacity was lowered; the unit no longer exists
		}
		offs = append(offs, l.cell(d, tz, c.CellStart)*l.Capacity+c.Unit)
	}
	return offs
}

// unitCells lists the unit cells a booking occupies: each of its units in
// each grid cell between its start and end.
func (l *Location) unitCells(b *Booking) []UnitCell {
	return l.cellsBetween(b.Start, b.End, b.Units)
}

func (l *Location) cellsBetween(start, end time.Time, units []int) []UnitCell {
	var cells []UnitCell
	for _, u := range units {
		for t := start; t.Before(end); t = t.Add(time.Duration(l.SlotMinutes) * time.Minute) {
			cells = append(cells, UnitCell{CellStart: t, Unit: u})
		}
	}
	return cells
}

// bitSet reports whether bit off of a bitmap is 1 (bits are numbered from
// the most significant bit of the first byte, as Redis does).
func bitSet(bm []byte, off int) bool {
	i := off / 8
	return i < len(bm) && bm[i]&(0x80>>(off%8)) != 0
}

// holdIDSep separates the parts of a hold id: location, day and a random
// part. Carrying location and day in the id lets any replica find the
// hold's keys without a lookup.
const holdIDSep = "."

func newHoldID(location string, d Date) string {
	return location + holdIDSep + fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) + holdIDSep + RandomCode(16)
}

// ParseHoldID returns the location and day a hold id names.
func ParseHoldID(id string) (location string, d Date, ok bool) {
	parts := strings.Split(id, holdIDSep)
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 8 || len(parts[2]) != 16 {
		return "", Date{}, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", Date{}, false
	}
	d = Date{n / 10000, time.Month(n / 100 % 100), n % 100}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return "", Date{}, false
	}
	return parts[0], d, true
}
