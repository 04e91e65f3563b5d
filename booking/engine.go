package booking

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Engine books units of slots: holds in a hold store (Redis), bookings in
// a record store (PostgreSQL). It keeps no state of its own that
// correctness depends on, so any number of server replicas can run one
// each.
type Engine struct {
	records Records
	holds   Holds
	log     *slog.Logger

	// HoldTTL is how long an unconfirmed hold lives.
	HoldTTL time.Duration
	// ConfirmGrace is how far a hold is extended while its booking is
	// written, so it cannot expire half-way.
	ConfirmGrace time.Duration
	// Now is the clock; tests move it to expire holds.
	Now func() time.Time
	// ContactLimits bounds the live bookings one e-mail address may hold
	// at one location on one local day, by location kind (KindOffice,
	// KindPool). A missing kind or 0 means no limit.
	ContactLimits map[string]int
	// ContactKey keys the hash that stands for an e-mail address in the
	// limit's bookkeeping, so the stored hashes cannot be matched against
	// a list of addresses. It must be the same on every replica and stay
	// the same across restarts, or the counts start over.
	ContactKey []byte
	// ManageKey computes manage tokens (derived from the server's secret,
	// the same on every replica), so the mail worker and "find my
	// booking" can rebuild a booking's manage link later; only the
	// token's hash and a per-booking salt are stored. Without a key
	// tokens are random and cannot be rebuilt.
	ManageKey []byte
	// ReminderBefore is how long before its start a confirmed booking's
	// reminder is due; 0 turns reminders off.
	ReminderBefore time.Duration
	// Holders, when set, keeps one live hold per holder and location
	// (PlaceHoldAs); nil turns the rule off.
	Holders HolderIndex
	// Replaced, when set, hears of every hold PlaceHoldAs released
	// because its holder placed another (the server remembers them, so
	// booking one answers ErrHoldReleased).
	Replaced func(ctx context.Context, holdID string)

	mu       sync.RWMutex
	catalog  map[string]*Location
	services map[string]*Service
	svcOrder []*Service
	order    []string
	zones    map[string]*time.Location
}

// NewEngine builds an engine on a record store (booking/postgres) and a
// hold store (booking/redis) and loads the catalog.
func NewEngine(ctx context.Context, records Records, holds Holds, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{records: records, holds: holds, log: log, HoldTTL: 10 * time.Minute, ConfirmGrace: time.Minute, Now: time.Now,
		ReminderBefore: 24 * time.Hour}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload reads locations and services again (after the catalog changed).
func (e *Engine) Reload(ctx context.Context) error {
	locs, services, err := e.records.LoadCatalog(ctx)
	if err != nil {
		return err
	}
	catalog := make(map[string]*Location, len(locs))
	zones := make(map[string]*time.Location, len(locs))
	order := make([]string, 0, len(locs))
	for i := range locs {
		l := &locs[i]
		tz, err := l.TimeLocation()
		if err != nil {
			return err
		}
		catalog[l.ID], zones[l.ID] = l, tz
		order = append(order, l.ID)
	}
	byID := make(map[string]*Service, len(services))
	svcOrder := make([]*Service, len(services))
	for i := range services {
		byID[services[i].ID] = &services[i]
		svcOrder[i] = &services[i]
	}
	e.mu.Lock()
	e.catalog, e.services, e.svcOrder, e.zones, e.order = catalog, byID, svcOrder, zones, order
	e.mu.Unlock()
	return nil
}

// Locations lists all locations.
func (e *Engine) Locations() []Location {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Location, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, *e.catalog[id])
	}
	return out
}

// Location returns one location.
func (e *Engine) Location(id string) (*Location, *time.Location, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	l, ok := e.catalog[id]
	if !ok {
		return nil, nil, ErrLocationUnknown
	}
	return l, e.zones[id], nil
}

// Services lists the active services of a location.
func (e *Engine) Services(locationID string) ([]Service, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if _, ok := e.catalog[locationID]; !ok {
		return nil, ErrLocationUnknown
	}
	out := []Service{}
	for _, s := range e.svcOrder {
		if s.LocationID == locationID {
			out = append(out, *s)
		}
	}
	return out, nil
}

// Service returns a service of a location.
func (e *Engine) Service(locationID, serviceID string) (*Service, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.services[serviceID]
	if !ok || s.LocationID != locationID {
		return nil, ErrServiceUnknown
	}
	return s, nil
}

// LoadDay copies a location-day's booked units from the record store into
// the hold store.
// It only sets bits, so it is safe to repeat and to run concurrently with
// holds and with other loaders.
func (e *Engine) LoadDay(ctx context.Context, l *Location, tz *time.Location, d Date) error {
	from, to := d.Midnight(tz), d.AddDays(1).Midnight(tz)
	cells, err := e.records.BookedCells(ctx, l.ID, from, to)
	if err != nil {
		return err
	}
	now := e.Now()
	blocked, err := e.records.BlockedUnits(ctx, l.ID, from, to, now)
	if err != nil {
		return err
	}
	if err := e.holds.Mark(ctx, l.HoldsKey(), d, keyTTL(d, tz, now), offsetsOf(l, d, tz, cells), blocksOf(l, tz, blocked)[d], now); err != nil {
		return fmt.Errorf("load %s %s into the hold store: %w", l.ID, d, err)
	}
	return nil
}

// blocksOf turns the record's blocked bookings into hold store blocks by
// local day.
func blocksOf(l *Location, tz *time.Location, blocked []BlockedBooking) map[Date][]Block {
	out := map[Date][]Block{}
	for _, b := range blocked {
		d := DateOf(b.Start.In(tz))
		out[d] = append(out[d], Block{ID: blockID(b.ID), Until: b.Until,
			Offsets: offsetsOf(l, d, tz, l.cellsBetween(b.Start, b.End, b.Units))})
	}
	return out
}

// Warm loads the coming days of every location into the hold store, so
// the first citizens after a start or a Redis loss do not pay for it.
func (e *Engine) Warm(ctx context.Context, days int) error {
	for _, l := range e.Locations() {
		l := l
		tz, _ := l.TimeLocation()
		today := DateOf(e.Now().In(tz))
		for i := 0; i < days; i++ {
			if err := e.LoadDay(ctx, &l, tz, today.AddDays(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// withDay runs op and, when the hold store has not got the day, loads it
// from the record store and runs op once more.
func (e *Engine) withDay(ctx context.Context, l *Location, tz *time.Location, d Date, op func() error) error {
	err := op()
	if !errors.Is(err, ErrDayNotLoaded) {
		return err
	}
	e.log.InfoContext(ctx, "loading location-day into the hold store", "location", l.ID, "day", d.String())
	if err := e.LoadDay(ctx, l, tz, d); err != nil {
		return err
	}
	return op()
}

// PlaceHold reserves units of the slot of a service starting at start.
func (e *Engine) PlaceHold(ctx context.Context, locationID, serviceID string, start time.Time, units int) (*Hold, error) {
	return e.PlaceHoldFor(ctx, locationID, []Item{{ServiceID: serviceID, Count: units}}, start)
}

// PlaceHoldFor reserves the units of a choice (see Plan) starting at
// start: one desk for the whole length of several office services, one
// unit per person of a pool order.
func (e *Engine) PlaceHoldFor(ctx context.Context, locationID string, items []Item, start time.Time) (*Hold, error) {
	l, tz, err := e.Location(locationID)
	if err != nil {
		return nil, err
	}
	p, err := e.plan(l, items)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	d, err := l.checkStart(p, tz, now, start)
	if err != nil {
		return nil, err
	}
	end := start.Add(p.duration())
	h := &Hold{
		ID: newHoldID(l.ID, d), LocationID: l.ID, ServiceID: p.Items[0].ServiceID, Items: p.Items,
		Start: start.UTC(), End: end.UTC(), ExpiresAt: now.Add(e.HoldTTL).UTC(),
	}
	q := HoldRequest{
		ID: h.ID, Day: d, Location: l.HoldsKey(), Capacity: l.Capacity, First: l.cell(d, tz, start), Cells: p.cells(l), Units: p.Units,
		Now: now, Expires: h.ExpiresAt, KeyTTL: keyTTL(d, tz, now),
		Service: h.ServiceID, Items: p.Items, Start: h.Start, End: h.End,
	}
	err = e.withDay(ctx, l, tz, d, func() (err error) {
		h.Units, err = e.holds.Hold(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// PlaceHoldAs is PlaceHoldFor for a holder (a browser, an API client):
// a holder has one live hold per location, and a new one replaces the
// last. The new hold is placed first and then swapped in atomically, so
// of two holds placed at once exactly one stays; the one replaced is
// released (unless its booking is being written, when it becomes that
// booking). A holder index outage lets the hold through: the rule is a
// fairness rule, the hold script still guards every unit.
func (e *Engine) PlaceHoldAs(ctx context.Context, holder, locationID string, items []Item, start time.Time) (*Hold, error) {
	h, err := e.PlaceHoldFor(ctx, locationID, items, start)
	if err != nil || holder == "" || e.Holders == nil {
		return h, err
	}
	prev, err := e.Holders.Swap(ctx, holder, h.LocationID, h.ID, e.HoldTTL+e.ConfirmGrace)
	if err != nil {
		e.log.WarnContext(ctx, "holder index unavailable; hold not bound to its holder", "err", err)
		return h, nil
	}
	if prev != "" && prev != h.ID {
		if err := e.ReleaseHold(ctx, prev); err != nil {
			e.log.WarnContext(ctx, "release replaced hold", "err", err)
		} else if e.Replaced != nil {
			e.Replaced(ctx, prev)
		}
	}
	return h, nil
}

// HolderHold returns the holder's live hold at a location and when it
// was placed; "" when it has none (or its last one is gone).
func (e *Engine) HolderHold(ctx context.Context, holder, locationID string) (id string, placed time.Time, err error) {
	if holder == "" || e.Holders == nil {
		return "", time.Time{}, nil
	}
	id, err = e.Holders.Current(ctx, holder, locationID)
	if err != nil || id == "" {
		return "", time.Time{}, err
	}
	placed, live, err := e.HoldPlaced(ctx, id)
	if err != nil || !live {
		return "", time.Time{}, err
	}
	return id, placed, nil
}

// HoldPlaced reports whether a hold is live and when it was placed (zero
// for a hold from before that was recorded).
func (e *Engine) HoldPlaced(ctx context.Context, id string) (placed time.Time, live bool, err error) {
	locID, d, ok := ParseHoldID(id)
	if !ok {
		return time.Time{}, false, nil
	}
	l, _, err := e.Location(locID)
	if err != nil {
		return time.Time{}, false, nil
	}
	rec, err := e.holds.Peek(ctx, l.HoldsKey(), d, id)
	if err != nil || rec == nil {
		return time.Time{}, false, err
	}
	if rec.Expires.IsZero() || rec.Expires.After(e.Now()) {
		return rec.Placed, true, nil
	}
	return time.Time{}, false, nil
}

// ReleaseHold gives a hold's units back. Releasing a hold that is gone is
// not an error; a malformed id is ErrHoldNotFound.
func (e *Engine) ReleaseHold(ctx context.Context, id string) error {
	locID, d, ok := ParseHoldID(id)
	if !ok {
		return ErrHoldNotFound
	}
	l, _, err := e.Location(locID)
	if err != nil {
		return ErrHoldNotFound
	}
	// A hold whose booking is being written is not released: its units
	// are about to be booked.
	_, err = e.holds.Release(ctx, l.HoldsKey(), d, id, e.Now(), false)
	if errors.Is(err, ErrDayNotLoaded) {
		return nil
	}
	return err
}

// Confirmation is a new booking with the manage token shown to the citizen
// once; only its hash is stored.
type Confirmation struct {
	Booking     *Booking
	ManageToken string
}

// BookOptions let a caller shape a booking made from a hold.
type BookOptions struct {
	// Status of the new booking. When empty: StatusConfirmed, or
	// StatusPendingActivation at a location with double opt-in. Set
	// StatusConfirmed to skip the opt-in (the citizen confirmed otherwise,
	// e.g. by paying).
	Status string
	// Recorder writes the booking; the engine's record store when nil.
	// The payment flow passes its own, which writes the payment row in
	// the booking's transaction.
	Recorder BookingRecorder
}

// claimHold extends a hold while its booking is written, so it cannot
// expire half-way, and says why when the hold is gone: booked already
// (ErrHoldUsed) or expired (ErrHoldExpired, also when the hold store lost
// its state).
func (e *Engine) claimHold(ctx context.Context, l *Location, d Date, holdID string, now time.Time) (*HoldRecord, error) {
	rec, err := e.holds.Claim(ctx, l.HoldsKey(), d, holdID, now, now.Add(e.ConfirmGrace))
	if errors.Is(err, ErrDayNotLoaded) {
		rec, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec != nil {
		return rec, nil
	}
	used, err := e.records.HoldUsed(ctx, holdID)
	if err != nil {
		return nil, err
	}
	if used {
		return nil, ErrHoldUsed
	}
	return nil, ErrHoldExpired
}

// Book turns a hold into a booking. The hold is claimed (extended) in Redis
// first, the booking and its units are written in one PostgreSQL
// transaction, and only then is the hold dropped from Redis with its bits
// kept as booked units.
func (e *Engine) Book(ctx context.Context, holdID string, c Contact, opt BookOptions) (*Confirmation, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	locID, d, ok := ParseHoldID(holdID)
	if !ok {
		return nil, ErrHoldNotFound
	}
	l, tz, err := e.Location(locID)
	if err != nil {
		return nil, ErrHoldNotFound
	}
	now := e.Now()
	rec, err := e.claimHold(ctx, l, d, holdID, now)
	if err != nil {
		return nil, err
	}
	status := opt.Status
	var activateBy *time.Time
	if status == "" {
		status = StatusConfirmed
		if l.ActivationMinutes > 0 {
			// Double opt-in: the booking holds its units until activated
			// or released by ExpireActivations.
			status = StatusPendingActivation
			t := now.Add(time.Duration(l.ActivationMinutes) * time.Minute).UTC()
			if rec.Start.Before(t) {
				t = rec.Start.UTC() // an appointment sooner than that is released when it starts
			}
			activateBy = &t
		}
	}
	b := &Booking{
		HoldID: holdID, LocationID: l.ID, ServiceID: rec.Service, Items: rec.items(),
		Start: rec.Start.UTC(), End: rec.End.UTC(),
		Units: rec.Units, Name: strings.TrimSpace(c.Name), Email: c.Email, Phone: strings.TrimSpace(c.Phone),
		Lang: c.lang(), Status: status, ActivationDeadline: activateBy,
	}
	var salt []byte
	if len(e.ManageKey) > 0 {
		salt = newSalt()
	}
	nb := &NewBooking{
		Booking:   b,
		TokenSalt: salt,
		Limit:     ContactLimit{Hash: e.contactHash(c.Email), Day: DateOf(b.Start.In(tz)), Max: e.ContactLimits[l.Kind]},
		Cells:     l.unitCells(b),
		RemindAt:  e.remindAt(b.Start, now),
		Now:       now.UTC(),
	}
	recorder := opt.Recorder
	if recorder == nil {
		recorder = e.records
	}
	var token string
	for attempt := 0; ; attempt++ {
		b.Code, b.CalendarUID = NewBookingCode(), newCalendarUID()
		token = e.newManageToken(b.Code, salt)
		hash := sha256.Sum256([]byte(token))
		nb.TokenHash = hash[:]
		err = recorder.InsertBooking(ctx, nb)
		if !errors.Is(err, ErrCodeTaken) || attempt == 5 {
			break
		}
	}
	switch {
	case errors.Is(err, ErrHoldUsed):
		return nil, ErrHoldUsed
	case errors.Is(err, ErrContactLimit):
		// The hold stays: the citizen may book it for someone else, and
		// otherwise it expires like any unconfirmed hold.
		return nil, ErrContactLimit
	case errors.Is(err, ErrUnitTaken):
		// The hold store handed out a unit the record knows is booked: it
		// was wrong (lost or stale). Drop this hold and re-mark the day.
		e.log.WarnContext(ctx, "hold store offered a booked unit; repairing day", "location", l.ID, "day", d.String())
		if _, err := e.holds.Release(ctx, l.HoldsKey(), d, holdID, now, true); err != nil {
			e.log.WarnContext(ctx, "release hold after conflict", "err", err)
		}
		if err := e.LoadDay(ctx, l, tz, d); err != nil {
			e.log.WarnContext(ctx, "repair day", "err", err)
		}
		return nil, ErrSlotFull
	case err != nil:
		// The record store failed: the citizen may retry with the same hold or
		// give it up, so it must no longer count as being booked.
		if uerr := e.holds.Unclaim(ctx, l.HoldsKey(), d, holdID); uerr != nil && !errors.Is(uerr, ErrDayNotLoaded) {
			e.log.WarnContext(ctx, "unclaim hold after failed booking", "err", uerr)
		}
		return nil, err
	}
	if err := e.holds.Confirm(ctx, l.HoldsKey(), d, holdID); err != nil && !errors.Is(err, ErrDayNotLoaded) {
		// The booking is recorded; if the hold later expires in the hold
		// store, the next conflicting confirm repairs the day.
		e.log.WarnContext(ctx, "drop confirmed hold from the hold store", "err", err)
	}
	return &Confirmation{Booking: b, ManageToken: token}, nil
}

// Lookup returns a booking when the manage token matches. An unknown code
// and a wrong token look the same to the caller.
func (e *Engine) Lookup(ctx context.Context, code, token string) (*Booking, error) {
	code = NormalizeBookingCode(code)
	if code == "" {
		return nil, ErrBookingNotFound
	}
	b, hash, err := e.records.BookingByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], hash) != 1 {
		return nil, ErrBookingNotFound
	}
	return b, nil
}

// Cancel cancels a booking and frees its units. Cancelling twice is not an
// error. rec writes the cancellation (the payment flow's also cancels or
// refunds the payment in the same transaction); the engine's record store
// when nil.
func (e *Engine) Cancel(ctx context.Context, code, token string, rec CancelRecorder) (*Booking, error) {
	b, err := e.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	if b.Status == StatusCancelled {
		return b, nil
	}
	now := e.Now()
	if !b.Start.After(now) {
		return nil, ErrTooLate
	}
	l, tz, err := e.Location(b.LocationID)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = e.records
	}
	cells, err := rec.CancelBooking(ctx, b, now)
	if err != nil {
		return nil, err
	}
	d := DateOf(b.Start.In(tz))
	if until := e.blockedUntil(l, now); until.After(now) {
		// Against trading appointments: the units come back only when the
		// block ends, so whoever waits for the cancellation of a sold
		// appointment cannot be sure to get it. The record keeps the same
		// end (blocked_until), so a reload blocks them as long.
		err = e.holds.Block(ctx, l.HoldsKey(), d, blockID(b.ID), until, now, offsetsOf(l, d, tz, cells))
	} else {
		err = e.holds.Unmark(ctx, l.HoldsKey(), d, offsetsOf(l, d, tz, cells))
	}
	if err != nil {
		// The units stay blocked in the hold store until the day is
		// reloaded: a lost unit, never a double booking.
		e.log.WarnContext(ctx, "free cancelled units in the hold store", "err", err)
	}
	b.Status, b.Sequence = StatusCancelled, b.Sequence+1
	return b, nil
}

// blockedUntil is when the units of a booking cancelled at now come back:
// now plus the location's block time (the record store computes the same
// from the same now).
func (e *Engine) blockedUntil(l *Location, now time.Time) time.Time {
	return now.Add(time.Duration(l.CancelBlockMinutes) * time.Minute).UTC().Truncate(time.Millisecond)
}

// Ready checks both stores.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.records.Ping(ctx); err != nil {
		return err
	}
	return e.holds.Ping(ctx)
}
