package booking

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MaxAvailabilityDays bounds one availability query.
const MaxAvailabilityDays = 31

// Availability lists the starts of a service between two local days
// (inclusive) with their free units, also those with none free. Only
// bookable starts are listed (see bookableStarts): past ones, those
// inside the lead time and those beyond the horizon are left out, and so
// a hold on any listed start is accepted while units are free.
func (e *Engine) Availability(ctx context.Context, locationID, serviceID string, from, to Date) ([]Slot, error) {
	return e.availability(ctx, locationID, []Item{{ServiceID: serviceID, Count: 1}}, from, to, false)
}

// AvailabilityFor lists the starts between two local days (inclusive) at
// which exactly this choice can be held now: the whole combined length
// fits in one opening period and enough units are free in every cell of
// it (one desk for an office appointment, one unit per person at a pool).
// Free is the number of free units at that start.
func (e *Engine) AvailabilityFor(ctx context.Context, locationID string, items []Item, from, to Date) ([]Slot, error) {
	return e.availability(ctx, locationID, items, from, to, true)
}

func (e *Engine) availability(ctx context.Context, locationID string, items []Item, from, to Date, onlyFree bool) ([]Slot, error) {
	if to.Before(from) || from.AddDays(MaxAvailabilityDays-1).Before(to) {
		return nil, ErrRangeInvalid
	}
	l, tz, err := e.Location(locationID)
	if err != nil {
		return nil, err
	}
	p, err := e.plan(l, items)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	days := e.scan(l, tz, p, from, to, now)
	if err := e.fill(ctx, l, tz, days, now); err != nil {
		return nil, err
	}
	slots := []Slot{}
	for _, sd := range days {
		for _, sl := range sd.slots(l, tz, p) {
			if !onlyFree || sl.Free >= p.Units {
				slots = append(slots, sl)
			}
		}
	}
	return slots, nil
}

// Calendar is which days have a bookable time for a choice, and the next
// free appointment.
type Calendar struct {
	Days []CalendarDay
	// Next is the earliest start on or after the first day asked for at
	// which the choice can be held, searched up to the end of the booking
	// window (also beyond the last day asked for); nil when there is none.
	Next *Slot
}

// CalendarDay is a day with at least one bookable start for the choice.
type CalendarDay struct {
	Day Date
	// Free is the number of starts at which the choice can be held.
	Free int
}

// calendarChunk is how many days after the range asked for the search for
// the next free start reads per round trip.
const calendarChunk = 31

// Calendar lists the days of [from, to] on which the choice can be held,
// and the next free start from from on, in one call: the range is clipped
// to the booking window, and the days' bitmaps are read in one pipelined
// round trip (one more per calendarChunk days while the next free start
// lies beyond to).
func (e *Engine) Calendar(ctx context.Context, locationID string, items []Item, from, to Date) (*Calendar, error) {
	if to.Before(from) {
		return nil, ErrRangeInvalid
	}
	l, tz, err := e.Location(locationID)
	if err != nil {
		return nil, err
	}
	p, err := e.plan(l, items)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	w := l.window(tz, now)
	if from.Before(w.First) {
		from = w.First
	}
	if w.Last.Before(to) {
		to = w.Last
	}
	cal := &Calendar{Days: []CalendarDay{}}
	for lo, hi := from, to; !w.Last.Before(lo) && !hi.Before(lo); {
		days := e.scan(l, tz, p, lo, hi, now)
		if err := e.fill(ctx, l, tz, days, now); err != nil {
			return nil, err
		}
		for _, sd := range days {
			n := 0
			for _, sl := range sd.slots(l, tz, p) {
				if sl.Free < p.Units {
					continue
				}
				if cal.Next == nil {
					next := sl
					cal.Next = &next
				}
				n++
			}
			if n > 0 && !to.Before(sd.day) {
				cal.Days = append(cal.Days, CalendarDay{Day: sd.day, Free: n})
			}
		}
		if cal.Next != nil || !hi.Before(w.Last) {
			break
		}
		lo, hi = hi.AddDays(1), hi.AddDays(calendarChunk)
		if w.Last.Before(hi) {
			hi = w.Last
		}
	}
	return cal, nil
}

// Window returns the local days a location can be booked on now: from
// the day the lead time ends to the horizon's last day.
func (e *Engine) Window(locationID string) (first, last Date, err error) {
	l, tz, err := e.Location(locationID)
	if err != nil {
		return Date{}, Date{}, err
	}
	w := l.window(tz, e.Now())
	return w.First, w.Last, nil
}

// scanDay is a day with bookable starts and, once filled, its bitmap.
type scanDay struct {
	day    Date
	starts []time.Time
	bits   []byte
}

// scan lists the days of [from, to] that have bookable starts for p; days
// without any (closed, outside the window) are never read from the hold
// store, so no query creates state for them.
func (e *Engine) scan(l *Location, tz *time.Location, p *Plan, from, to Date, now time.Time) []*scanDay {
	var days []*scanDay
	for d := from; !to.Before(d); d = d.AddDays(1) {
		if starts := l.bookableStarts(p, d, tz, now); len(starts) > 0 {
			days = append(days, &scanDay{day: d, starts: starts})
		}
	}
	return days
}

// fill reads the bitmaps of the days in one round trip, loading the days
// the hold store has no state of from the record store first.
func (e *Engine) fill(ctx context.Context, l *Location, tz *time.Location, days []*scanDay, now time.Time) error {
	if len(days) == 0 {
		return nil
	}
	ds := make([]Date, len(days))
	for i, sd := range days {
		ds[i] = sd.day
	}
	bms, missing, err := e.holds.Bitmaps(ctx, l.HoldsKey(), ds, now)
	if err != nil {
		return err
	}
	for i, bm := range bms {
		days[i].bits = bm
	}
	if len(missing) == 0 {
		return nil
	}
	// Days the hold store has no state of (after a start or a loss) are
	// loaded together: one record-store query for their span, their marks
	// pipelined, their bitmaps read in one more round trip.
	load := make([]Date, len(missing))
	for i, m := range missing {
		load[i] = days[m].day
	}
	e.log.InfoContext(ctx, "loading location-days into the hold store", "location", l.ID, "days", len(load))
	if err := e.loadDays(ctx, l, tz, load); err != nil {
		return err
	}
	bms, still, err := e.holds.Bitmaps(ctx, l.HoldsKey(), load, now)
	if err != nil {
		return err
	}
	if len(still) > 0 {
		return fmt.Errorf("%w: %d location-days not loaded after loading them", ErrUnavailable, len(still))
	}
	for i, m := range missing {
		days[m].bits = bms[i]
	}
	return nil
}

// loadDays is LoadDay for several days of a location: one record-store
// query for their span, and the marks sent together.
func (e *Engine) loadDays(ctx context.Context, l *Location, tz *time.Location, days []Date) error {
	first, last := days[0], days[0]
	for _, d := range days {
		if d.Before(first) {
			first = d
		}
		if last.Before(d) {
			last = d
		}
	}
	cells, err := e.records.BookedCells(ctx, l.ID, first.Midnight(tz), last.AddDays(1).Midnight(tz))
	if err != nil {
		return err
	}
	now := e.Now()
	blocked, err := e.records.BlockedUnits(ctx, l.ID, first.Midnight(tz), last.AddDays(1).Midnight(tz), now)
	if err != nil {
		return err
	}
	blocks := blocksOf(l, tz, blocked)
	byDay := make(map[Date][]UnitCell, len(days))
	for _, c := range cells {
		d := DateOf(c.CellStart.In(tz))
		byDay[d] = append(byDay[d], c)
	}
	errs := make([]error, len(days))
	var wg sync.WaitGroup
	for i, d := range days {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.holds.Mark(ctx, l.HoldsKey(), d, keyTTL(d, tz, now), offsetsOf(l, d, tz, byDay[d]), blocks[d], now)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("load %s %s into the hold store: %w", l.ID, days[i], err)
		}
	}
	return nil
}

func (sd *scanDay) slots(l *Location, tz *time.Location, p *Plan) []Slot {
	out := make([]Slot, 0, len(sd.starts))
	n := p.cells(l)
	for _, t := range sd.starts {
		free := l.freeUnits(sd.bits, l.cell(sd.day, tz, t), n)
		out = append(out, Slot{Start: t.UTC(), End: t.Add(p.duration()).UTC(), Free: free})
	}
	return out
}
