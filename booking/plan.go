package booking

import (
	"time"
)

// MaxHorizonDays bounds how far ahead any location can be booked (a
// location without a horizon gets it), so a hold store key never outlives
// its day by more than a few days.
const MaxHorizonDays = 400

// MaxChoiceItems bounds the services or ticket types of one choice.
const MaxChoiceItems = 10

// Plan is a checked choice: the services or ticket types one hold books
// together, the length of the appointment, the units it takes and the
// step its starts are generated at.
type Plan struct {
	Items    []Item
	Services []*Service // parallel to Items
	// Minutes is the length of the appointment: the sum of the services'
	// durations at an office, the slot's length at a pool.
	Minutes int
	// Units is what the hold takes: one desk for an office appointment
	// (however many services), one unit per person at a pool.
	Units int
	// StepMinutes is the distance between the starts offered: a single
	// service's duration (starts tile the day as they always have), the
	// location's grid for several office services (their combined length
	// does not tile it).
	StepMinutes int
}

func (p *Plan) duration() time.Duration { return time.Duration(p.Minutes) * time.Minute }

// cells is the number of grid cells the plan occupies.
func (p *Plan) cells(l *Location) int { return p.Minutes / l.SlotMinutes }

// plan checks a choice against the catalog:
//   - one item: a service with Count units (1..MaxUnits), as a single
//     service has always been booked;
//   - several items: all paid the same way (online or at the counter), so
//     one booking has one way of paying;
//   - several items at an office: distinct services, each Count 1, their
//     durations added, one desk;
//   - several items at a pool: distinct ticket types of the same
//     duration (one slot), each Count within its MaxUnits, the total
//     within the largest MaxUnits of the types chosen; capacity counts
//     persons.
func (e *Engine) plan(l *Location, items []Item) (*Plan, error) {
	if len(items) == 0 || len(items) > MaxChoiceItems {
		return nil, ErrChoiceInvalid
	}
	p := &Plan{Items: make([]Item, len(items)), Services: make([]*Service, len(items))}
	seen := make(map[string]bool, len(items))
	maxUnits := 0
	for i, it := range items {
		s, err := e.Service(l.ID, it.ServiceID)
		if err != nil {
			return nil, err
		}
		if seen[s.ID] {
			return nil, ErrChoiceInvalid
		}
		seen[s.ID] = true
		if it.Count < 1 || it.Count > s.MaxUnits {
			return nil, ErrUnitsInvalid
		}
		p.Items[i], p.Services[i] = Item{ServiceID: s.ID, Count: it.Count}, s
		maxUnits = max(maxUnits, s.MaxUnits)
	}
	first := p.Services[0]
	if len(items) == 1 {
		p.Minutes, p.Units, p.StepMinutes = first.DurationMinutes, items[0].Count, first.DurationMinutes
		return p, nil
	}
	for _, s := range p.Services {
		if s.Payment != first.Payment {
			return nil, ErrChoiceInvalid
		}
	}
	switch l.Kind {
	case KindOffice:
		for i, s := range p.Services {
			if p.Items[i].Count != 1 {
				return nil, ErrChoiceInvalid
			}
			p.Minutes += s.DurationMinutes
		}
		p.Units, p.StepMinutes = 1, l.SlotMinutes
	default:
		for i, s := range p.Services {
			if s.DurationMinutes != first.DurationMinutes {
				return nil, ErrChoiceInvalid
			}
			p.Units += p.Items[i].Count
		}
		if p.Units > maxUnits {
			return nil, ErrUnitsInvalid
		}
		p.Minutes, p.StepMinutes = first.DurationMinutes, first.DurationMinutes
	}
	if p.Minutes > 24*60 {
		return nil, ErrChoiceInvalid
	}
	return p, nil
}

// horizonDays is how many days after today the location can be booked.
func (l *Location) horizonDays() int {
	if l.BookingHorizonDays <= 0 || l.BookingHorizonDays > MaxHorizonDays {
		return MaxHorizonDays
	}
	return l.BookingHorizonDays
}

// Window is the span a start must lie in to be bookable at now: not
// before earliest (now plus the lead time) and on a local day not after
// last: today plus the horizon, or, with a release schedule, the last day
// released by now when that is earlier. The release schedule narrows last
// here, and nowhere else.
type Window struct {
	Earliest time.Time
	First    Date // the local day of Earliest
	Last     Date
	// Horizon is the horizon's last day; days after Last up to it wait
	// for their release.
	Horizon Date
}

// window is the booking window of the location at now.
func (l *Location) window(tz *time.Location, now time.Time) Window {
	earliest := now.Add(time.Duration(l.LeadMinutes) * time.Minute)
	w := Window{
		Earliest: earliest,
		First:    DateOf(earliest.In(tz)),
		Last:     DateOf(now.In(tz)).AddDays(l.horizonDays()),
	}
	w.Horizon = w.Last
	if released, ok := l.releasedThrough(tz, now); ok && released.Before(w.Last) {
		w.Last = released
	}
	return w
}

// BookingWindow is the location's booking window at now, for pages that
// say which days are open and when the next ones are released.
func (l *Location) BookingWindow(now time.Time, tz *time.Location) Window { return l.window(tz, now) }

// bookableStarts decides bookability: the starts of plan p on local day d
// that can be booked at now. Availability, holds and the calendar all ask
// it, so what is listed can be held and what can be held is listed. A
// start is bookable when its day is open (opening rules, closures,
// holidays), the whole appointment fits into one opening period, it lies
// in the booking window (lead time, horizon, release schedule) and it is
// in the future.
func (l *Location) bookableStarts(p *Plan, d Date, tz *time.Location, now time.Time) []time.Time {
	w := l.window(tz, now)
	if d.Before(w.First) || w.Last.Before(d) {
		return nil
	}
	dur := p.duration()
	step := time.Duration(p.StepMinutes) * time.Minute
	if dur <= 0 || step <= 0 {
		return nil
	}
	var starts []time.Time
	for _, per := range l.OpenPeriods(d, tz) {
		for t := per.Start; !t.Add(dur).After(per.End); t = t.Add(step) {
			if t.After(now) && !t.Before(w.Earliest) {
				starts = append(starts, t)
			}
		}
	}
	return starts
}

// checkStart reports whether plan p can be held starting at t, with the
// very rule availability lists starts by, and returns the start's day.
func (l *Location) checkStart(p *Plan, tz *time.Location, now, t time.Time) (Date, error) {
	if !t.After(now) {
		return Date{}, ErrSlotPast
	}
	d := DateOf(t.In(tz))
	for _, st := range l.bookableStarts(p, d, tz, now) {
		if st.Equal(t) {
			return d, nil
		}
	}
	if w := l.window(tz, now); w.Last.Before(d) && !w.Horizon.Before(d) {
		return Date{}, ErrNotReleased
	}
	return Date{}, ErrSlotInvalid
}

// freeUnits counts the units free in all n cells from first on.
func (l *Location) freeUnits(bm []byte, first, n int) int {
	free := 0
	for u := 0; u < l.Capacity; u++ {
		taken := false
		for c := first; c < first+n && !taken; c++ {
			taken = bitSet(bm, c*l.Capacity+u)
		}
		if !taken {
			free++
		}
	}
	return free
}

// sameItems reports whether two choices book the same services and counts.
func sameItems(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[string]int, len(a))
	for _, it := range a {
		count[it.ServiceID] += it.Count
	}
	for _, it := range b {
		count[it.ServiceID] -= it.Count
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
