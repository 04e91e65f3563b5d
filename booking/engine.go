package booking

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// Engine books units of slots: holds in Redis, bookings in PostgreSQL. It
// keeps no state of its own that correctness depends on, so any number of
// server replicas can run one each.
type Engine struct {
	pg    *Postgres
	holds *RedisHolds
	log   *slog.Logger

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

	mu       sync.RWMutex
	catalog  map[string]*Location
	services map[string]*Service
	svcOrder []*Service
	order    []string
	zones    map[string]*time.Location
}

// NewEngine builds an engine and loads the catalog from PostgreSQL.
func NewEngine(ctx context.Context, pg *Postgres, holds *RedisHolds, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{pg: pg, holds: holds, log: log, HoldTTL: 10 * time.Minute, ConfirmGrace: time.Minute, Now: time.Now}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload reads locations and services again (after the catalog changed).
func (e *Engine) Reload(ctx context.Context) error {
	locs, services, err := e.pg.LoadCatalog(ctx)
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

// keyTTL keeps a location-day's Redis keys until two days after it ends.
func keyTTL(d Date, tz *time.Location, now time.Time) time.Duration {
	ttl := d.AddDays(3).Midnight(tz).Sub(now)
	if ttl < time.Hour {
		ttl = time.Hour
	}
	return ttl
}

// offsetsOf turns booked cells of a day into bitmap offsets.
func offsetsOf(l *Location, d Date, tz *time.Location, cells []unitCell) []int {
	offs := make([]int, 0, len(cells))
	for _, c := range cells {
		if c.Unit >= l.Capacity {
			continue // capacity was lowered; the unit no longer exists
		}
		offs = append(offs, l.cell(d, tz, c.CellStart)*l.Capacity+c.Unit)
	}
	return offs
}

// LoadDay copies a location-day's booked units from PostgreSQL into Redis.
// It only sets bits, so it is safe to repeat and to run concurrently with
// holds and with other loaders.
func (e *Engine) LoadDay(ctx context.Context, l *Location, tz *time.Location, d Date) error {
	cells, err := e.pg.bookedCells(ctx, l.ID, d.Midnight(tz), d.AddDays(1).Midnight(tz))
	if err != nil {
		return err
	}
	if err := e.holds.mark(ctx, l.ID, d, keyTTL(d, tz, e.Now()), offsetsOf(l, d, tz, cells)); err != nil {
		return fmt.Errorf("load %s %s into redis: %w", l.ID, d, err)
	}
	return nil
}

// Warm loads the coming days of every location into Redis, so the first
// citizens after a start or a Redis loss do not pay for it.
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

// withDay runs op and, when Redis has not got the day, loads it from
// PostgreSQL and runs op once more.
func (e *Engine) withDay(ctx context.Context, l *Location, tz *time.Location, d Date, op func() error) error {
	err := op()
	if !errors.Is(err, errNotLoaded) {
		return err
	}
	e.log.InfoContext(ctx, "loading location-day into redis", "location", l.ID, "day", d.String())
	if err := e.LoadDay(ctx, l, tz, d); err != nil {
		return err
	}
	return op()
}

// MaxAvailabilityDays bounds one availability query.
const MaxAvailabilityDays = 31

// Availability lists the starts of a service between two local days
// (inclusive) with their free units. Past starts are left out.
func (e *Engine) Availability(ctx context.Context, locationID, serviceID string, from, to Date) ([]Slot, error) {
	l, tz, err := e.Location(locationID)
	if err != nil {
		return nil, err
	}
	s, err := e.Service(locationID, serviceID)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	slots := []Slot{}
	for d := from; !to.Before(d); d = d.AddDays(1) {
		starts := l.Starts(s, d, tz)
		if len(starts) == 0 || !starts[len(starts)-1].After(now) {
			continue
		}
		var bm []byte
		if err := e.withDay(ctx, l, tz, d, func() (err error) {
			bm, err = e.holds.bitmap(ctx, l.ID, d, now)
			return err
		}); err != nil {
			return nil, err
		}
		for _, t := range starts {
			if !t.After(now) {
				continue
			}
			first, n := l.cellsOf(s, d, tz, t)
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
			slots = append(slots, Slot{Start: t.UTC(), End: t.Add(time.Duration(s.DurationMinutes) * time.Minute).UTC(), Free: free})
		}
	}
	return slots, nil
}

// locateStart checks that a service can start at t and returns its day.
func (e *Engine) locateStart(l *Location, s *Service, tz *time.Location, t time.Time) (Date, error) {
	if !t.After(e.Now()) {
		return Date{}, ErrSlotPast
	}
	d := DateOf(t.In(tz))
	if l.BookingHorizonDays > 0 && DateOf(e.Now().In(tz)).AddDays(l.BookingHorizonDays).Before(d) {
		return Date{}, ErrSlotInvalid
	}
	for _, st := range l.Starts(s, d, tz) {
		if st.Equal(t) {
			return d, nil
		}
	}
	return Date{}, ErrSlotInvalid
}

// PlaceHold reserves units of the slot of a service starting at start.
func (e *Engine) PlaceHold(ctx context.Context, locationID, serviceID string, start time.Time, units int) (*Hold, error) {
	l, tz, err := e.Location(locationID)
	if err != nil {
		return nil, err
	}
	s, err := e.Service(locationID, serviceID)
	if err != nil {
		return nil, err
	}
	if units < 1 || units > s.MaxUnits {
		return nil, ErrUnitsInvalid
	}
	d, err := e.locateStart(l, s, tz, start)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	end := start.Add(time.Duration(s.DurationMinutes) * time.Minute)
	first, n := l.cellsOf(s, d, tz, start)
	h := &Hold{
		ID: newHoldID(l.ID, d), LocationID: l.ID, ServiceID: s.ID,
		Start: start.UTC(), End: end.UTC(), ExpiresAt: now.Add(e.HoldTTL).UTC(),
	}
	q := holdRequest{
		id: h.ID, day: d, location: l.ID, capacity: l.Capacity, first: first, cells: n, units: units,
		now: now, expires: h.ExpiresAt, keyTTL: keyTTL(d, tz, now),
		record: holdRecord{Service: s.ID, Start: start.UnixMilli(), End: end.UnixMilli()},
	}
	err = e.withDay(ctx, l, tz, d, func() (err error) {
		h.Units, _, err = e.holds.hold(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// ReleaseHold gives a hold's units back. Releasing a hold that is gone is
// not an error; a malformed id is ErrHoldNotFound.
func (e *Engine) ReleaseHold(ctx context.Context, id string) error {
	locID, d, ok := parseHoldID(id)
	if !ok {
		return ErrHoldNotFound
	}
	if _, _, err := e.Location(locID); err != nil {
		return ErrHoldNotFound
	}
	// A hold whose booking is being written is not released: its units
	// are about to be booked.
	_, err := e.holds.release(ctx, locID, d, id, e.Now(), false)
	if errors.Is(err, errNotLoaded) {
		return nil
	}
	return err
}

// Contact is who a booking is for.
type Contact struct {
	Name  string
	Email string
}

// Validate checks a contact's fields.
func (c Contact) Validate() error {
	name := strings.TrimSpace(c.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return ErrNameInvalid
	}
	a, err := mail.ParseAddress(c.Email)
	if err != nil || a.Address != c.Email || len(c.Email) > 254 {
		return ErrEmailInvalid
	}
	at := strings.LastIndexByte(c.Email, '@')
	if at < 1 || !strings.Contains(c.Email[at+1:], ".") {
		return ErrEmailInvalid
	}
	return nil
}

// NormalizeEmail folds the spellings of one mailbox together for the
// per-contact limit: case and surrounding space are dropped, and so is a
// "+tag" suffix of the local part, which many providers deliver to the
// same mailbox and which would otherwise be a free way round the limit.
func NormalizeEmail(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	local, domain := email[:at], email[at:]
	if plus := strings.IndexByte(local, '+'); plus > 0 {
		local = local[:plus]
	}
	return local + domain
}

// contactHash is the keyed hash that stands for an address in the limit's
// bookkeeping.
func (e *Engine) contactHash(email string) []byte {
	m := hmac.New(sha256.New, e.ContactKey)
	m.Write([]byte(NormalizeEmail(email)))
	return m.Sum(nil)
}

// Contact validation outcomes.
var (
	ErrNameInvalid  = errors.New("name missing or too long")
	ErrEmailInvalid = errors.New("malformed e-mail address")
)

// Confirmation is a new booking with the manage token shown to the citizen
// once; only its hash is stored.
type Confirmation struct {
	Booking     *Booking
	ManageToken string
}

// BookOptions let a caller shape a booking made from a hold.
type BookOptions struct {
	// Status of the new booking; StatusConfirmed when empty.
	Status string
	// InTx runs inside the booking's transaction (outbox, payment rows).
	InTx func(tx *sqlx.Tx, b *Booking) error
}

// Book turns a hold into a booking. The hold is claimed (extended) in Redis
// first, the booking and its units are written in one PostgreSQL
// transaction, and only then is the hold dropped from Redis with its bits
// kept as booked units.
func (e *Engine) Book(ctx context.Context, holdID string, c Contact, opt BookOptions) (*Confirmation, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	locID, d, ok := parseHoldID(holdID)
	if !ok {
		return nil, ErrHoldNotFound
	}
	l, tz, err := e.Location(locID)
	if err != nil {
		return nil, ErrHoldNotFound
	}
	now := e.Now()
	rec, err := e.holds.claim(ctx, l.ID, d, holdID, now, now.Add(e.ConfirmGrace))
	if errors.Is(err, errNotLoaded) {
		rec, err = nil, nil // Redis lost its state: the hold is gone
	}
	if err != nil {
		return nil, err
	}
	if rec == nil {
		used, err := e.pg.holdUsed(ctx, holdID)
		if err != nil {
			return nil, err
		}
		if used {
			return nil, ErrHoldUsed
		}
		return nil, ErrHoldExpired
	}
	status := opt.Status
	if status == "" {
		status = StatusConfirmed
	}
	b := &Booking{
		HoldID: holdID, LocationID: l.ID, ServiceID: rec.Service,
		Start: time.UnixMilli(rec.Start).UTC(), End: time.UnixMilli(rec.End).UTC(),
		Units: rec.Units, Name: strings.TrimSpace(c.Name), Email: c.Email, Status: status,
	}
	token := randomToken()
	hash := sha256.Sum256([]byte(token))
	limit := contactLimit{hash: e.contactHash(c.Email), day: DateOf(b.Start.In(tz)), max: e.ContactLimits[l.Kind]}
	var cells []unitCell
	for _, u := range rec.Units {
		for t := b.Start; t.Before(b.End); t = t.Add(time.Duration(l.SlotMinutes) * time.Minute) {
			cells = append(cells, unitCell{CellStart: t, Unit: u})
		}
	}
	for attempt := 0; ; attempt++ {
		b.Code = NewBookingCode()
		err = e.pg.insertBooking(ctx, b, hash[:], limit, cells, opt.InTx)
		if !errors.Is(err, errCodeTaken) || attempt == 5 {
			break
		}
	}
	switch {
	case errors.Is(err, errHoldUsed):
		return nil, ErrHoldUsed
	case errors.Is(err, ErrContactLimit):
		// The hold stays: the citizen may book it for someone else, and
		// otherwise it expires like any unconfirmed hold.
		return nil, ErrContactLimit
	case errors.Is(err, errUnitTaken):
		// Redis handed out a unit PostgreSQL knows is booked: Redis was
		// wrong (lost or stale). Drop this hold and re-mark the day.
		e.log.WarnContext(ctx, "redis offered a booked unit; repairing day", "location", l.ID, "day", d.String())
		if _, err := e.holds.release(ctx, l.ID, d, holdID, now, true); err != nil {
			e.log.WarnContext(ctx, "release hold after conflict", "err", err)
		}
		if err := e.LoadDay(ctx, l, tz, d); err != nil {
			e.log.WarnContext(ctx, "repair day", "err", err)
		}
		return nil, ErrSlotFull
	case err != nil:
		// PostgreSQL failed: the citizen may retry with the same hold or
		// give it up, so it must no longer count as being booked.
		if uerr := e.holds.unclaim(ctx, l.ID, d, holdID); uerr != nil && !errors.Is(uerr, errNotLoaded) {
			e.log.WarnContext(ctx, "unclaim hold after failed booking", "err", uerr)
		}
		return nil, err
	}
	if err := e.holds.confirm(ctx, l.ID, d, holdID); err != nil && !errors.Is(err, errNotLoaded) {
		// The booking is recorded; if the hold later expires in Redis, the
		// next conflicting confirm repairs the day from PostgreSQL.
		e.log.WarnContext(ctx, "drop confirmed hold from redis", "err", err)
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
	b, hash, err := e.pg.bookingByCode(ctx, code)
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
// error. inTx runs inside the cancelling transaction (a refund request in
// the outbox, say).
func (e *Engine) Cancel(ctx context.Context, code, token string, inTx func(*sqlx.Tx) error) (*Booking, error) {
	b, err := e.Lookup(ctx, code, token)
	if err != nil {
		return nil, err
	}
	if b.Status == StatusCancelled {
		return b, nil
	}
	if !b.Start.After(e.Now()) {
		return nil, ErrTooLate
	}
	l, tz, err := e.Location(b.LocationID)
	if err != nil {
		return nil, err
	}
	cells, err := e.pg.cancelBooking(ctx, b.ID, e.Now(), inTx)
	if err != nil {
		return nil, err
	}
	d := DateOf(b.Start.In(tz))
	if err := e.holds.unmark(ctx, l.ID, d, offsetsOf(l, d, tz, cells)); err != nil {
		// The units stay blocked in Redis until the day is reloaded: a
		// lost unit, never a double booking.
		e.log.WarnContext(ctx, "free cancelled units in redis", "err", err)
	}
	b.Status = StatusCancelled
	return b, nil
}

// Ready checks both stores.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.pg.Ping(ctx); err != nil {
		return err
	}
	return e.holds.Ping(ctx)
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// read out over the phone cannot be misheard as another.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func randomCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = crockford[b[i]&31]
	}
	return string(b)
}

// NewBookingCode returns an 8-character Crockford base32 code (40 bits).
func NewBookingCode() string { return randomCode(8) }

// NormalizeBookingCode upper-cases a typed code, drops separators and maps
// the letters Crockford base32 leaves out to the digits they look like. It
// returns "" for something that cannot be a code.
func NormalizeBookingCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != 8 {
		return ""
	}
	return b.String()
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
