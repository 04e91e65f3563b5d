package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// statsSeed writes bookings and queue tickets straight into the tables,
// with times chosen so that every count of the statistics is known.
type statsSeed struct {
	t   *testing.T
	db  *sqlx.DB
	tz  *time.Location
	seq int
}

func newStatsSeed(t *testing.T) (*statsSeed, *bookingpg.Store) {
	t.Helper()
	db := servicetest.DB(t, bookingpg.Migrations)
	store := bookingpg.New(db)
	opens, _ := booking.ParseClockTime("08:00")
	closes, _ := booking.ParseClockTime("16:00")
	var rules []booking.OpeningRule
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		rules = append(rules, booking.OpeningRule{Weekday: wd, Opens: opens, Closes: closes})
	}
	locs := []booking.Location{
		{ID: "amt", Kind: booking.KindOffice, Name: "Bürgeramt", Timezone: "Europe/Berlin", Capacity: 2, SlotMinutes: 15, BookingHorizonDays: 60, Opening: rules},
		{ID: "bad", Kind: booking.KindPool, Name: "Stadtbad", Timezone: "Europe/Berlin", Capacity: 10, SlotMinutes: 60, BookingHorizonDays: 60, Opening: rules},
	}
	svcs := []booking.Service{
		{ID: "ausweis", LocationID: "amt", Name: "Personalausweis", DurationMinutes: 15, Payment: booking.PayCounter, MaxUnits: 1},
		{ID: "eintritt", LocationID: "bad", Name: "Eintritt", DurationMinutes: 60, Payment: booking.PayCounter, MaxUnits: 10},
	}
	if err := store.SaveCatalog(context.Background(), locs, svcs); err != nil {
		t.Fatal(err)
	}
	tz, _ := time.LoadLocation("Europe/Berlin")
	return &statsSeed{t: t, db: db, tz: tz}, store
}

// at is a Berlin wall-clock time of a day "YYYY-MM-DD", "HH:MM".
func (s *statsSeed) at(day, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", day+" "+clock, s.tz)
	if err != nil {
		s.t.Fatal(err)
	}
	return t
}

// booking writes a booking of units at a start; live ones occupy their units.
func (s *statsSeed) booking(location, service string, start time.Time, units int, status string) int64 {
	s.t.Helper()
	s.seq++
	idx := make([]int64, units)
	for i := range idx {
		idx[i] = int64(i)
	}
	code := fmt.Sprintf("C%07d", s.seq)
	var id int64
	err := s.db.Get(&id, `INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at,
		unit_indexes, name, email, status, calendar_uid) VALUES ($1, $1, '\x00', $2, $3, $4, $5, $6, 'N', 'n@example.org', $7, $1)
		RETURNING id`, code, location, service, start, start.Add(15*time.Minute), pq.Array(idx), status)
	if err != nil {
		s.t.Fatal(err)
	}
	if status != booking.StatusCancelled {
		for i := range idx {
			// Several bookings may share a cell in this seed; the unit is
			// made unique by the booking's sequence number.
			if _, err := s.db.Exec(`INSERT INTO booking_units (booking_id, location_id, cell_start, unit) VALUES ($1, $2, $3, $4)`,
				id, location, start, s.seq*100+i); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	return id
}

func (s *statsSeed) code(id int64) string {
	var code string
	if err := s.db.Get(&code, `SELECT code FROM bookings WHERE id = $1`, id); err != nil {
		s.t.Fatal(err)
	}
	return code
}

// ticket writes a queue ticket; zero times stay NULL.
func (s *statsSeed) ticket(location string, bookingID int64, state string, drawn, called, finished time.Time) {
	s.t.Helper()
	s.seq++
	var b any
	if bookingID != 0 {
		b = bookingID
	}
	null := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	if _, err := s.db.Exec(`INSERT INTO queue_tickets (location_id, day, number, booking_id, state, created_at, called_at, finished_at)
		VALUES ($1, ($2::timestamptz AT TIME ZONE 'Europe/Berlin')::date, $3, $4, $5, $2, $6, $7)`,
		location, drawn, fmt.Sprintf("A%03d", s.seq), b, state, null(called), null(finished)); err != nil {
		s.t.Fatal(err)
	}
}

func date(t *testing.T, s string) booking.Date {
	d, err := booking.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestStatsActivity(t *testing.T) {
	s, store := newStatsSeed(t)
	ctx := context.Background()
	const day = "2030-01-07"
	var none time.Time
	served := s.booking("amt", "ausweis", s.at(day, "09:00"), 1, booking.StatusConfirmed)
	s.ticket("amt", served, booking.QueueServed, s.at(day, "08:55"), s.at(day, "09:05"), s.at(day, "09:20"))
	s.booking("amt", "ausweis", s.at(day, "09:15"), 1, booking.StatusConfirmed) // nobody came
	s.booking("amt", "ausweis", s.at(day, "09:30"), 1, booking.StatusCancelled)
	missed := s.booking("amt", "ausweis", s.at(day, "10:00"), 1, booking.StatusConfirmed)
	s.ticket("amt", missed, booking.QueueNoShow, s.at(day, "09:58"), s.at(day, "10:05"), s.at(day, "10:10"))
	s.booking("amt", "ausweis", s.at(day, "14:00"), 1, booking.StatusConfirmed) // still to come
	s.ticket("amt", 0, booking.QueueServed, s.at(day, "09:10"), s.at(day, "09:40"), s.at(day, "10:00"))
	s.ticket("amt", 0, booking.QueueWaiting, s.at(day, "09:50"), none, none)
	// Recalled at 10:40: waited from 10:20 to the first call at 10:30,
	// served from the recall until 10:45.
	s.ticket("amt", 0, booking.QueueServed, s.at(day, "10:20"), s.at(day, "10:30"), s.at(day, "10:45"))
	if _, err := s.db.Exec(`UPDATE queue_tickets SET last_called_at = $1, recalls = 1 WHERE created_at = $2`, s.at(day, "10:40"), s.at(day, "10:20")); err != nil {
		t.Fatal(err)
	}
	// Another day and another location stay out.
	s.booking("amt", "ausweis", s.at("2030-01-08", "09:00"), 1, booking.StatusConfirmed)
	s.ticket("bad", 0, booking.QueueWaiting, s.at(day, "09:10"), none, none)

	got, err := store.Activity(ctx, "amt", date(t, day), date(t, day), s.at(day, "12:00"))
	if err != nil {
		t.Fatal(err)
	}
	d := date(t, day)
	want := []booking.HourStats{
		{Day: d, Hour: 8, CheckIns: 1, Waited: 1, WaitTotal: 10 * time.Minute, Served: 1, ServiceTotal: 15 * time.Minute},
		{Day: d, Hour: 9, Booked: 2, Cancelled: 1, Due: 2, NoShows: 1, WalkIns: 2, CheckIns: 1, Waited: 2,
			WaitTotal: 37 * time.Minute, Served: 1, ServiceTotal: 20 * time.Minute},
		{Day: d, Hour: 10, Booked: 1, Due: 1, NoShows: 1, WalkIns: 1, Waited: 1, WaitTotal: 10 * time.Minute, Served: 1, ServiceTotal: 5 * time.Minute},
		{Day: d, Hour: 14, Booked: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("activity:\n got %+v\nwant %+v", got, want)
	}

	// At a pool a no-show is a booking nobody was admitted with.
	entered := s.booking("bad", "eintritt", s.at(day, "10:00"), 3, booking.StatusConfirmed)
	s.booking("bad", "eintritt", s.at(day, "10:00"), 2, booking.StatusConfirmed)
	if _, err := s.db.Exec(`INSERT INTO ticket_redemptions (booking_code, location_id, nonce, scanned_at) VALUES ($1, 'bad', 'n1', $2)`,
		s.code(entered), s.at(day, "10:02")); err != nil {
		t.Fatal(err)
	}
	pool, err := store.Activity(ctx, "bad", d, d, s.at(day, "12:00"))
	if err != nil {
		t.Fatal(err)
	}
	wantPool := []booking.HourStats{
		{Day: d, Hour: 9, WalkIns: 1},
		{Day: d, Hour: 10, Booked: 2, Due: 2, NoShows: 1},
	}
	if !reflect.DeepEqual(pool, wantPool) {
		t.Fatalf("pool activity:\n got %+v\nwant %+v", pool, wantPool)
	}
	occ, err := store.Occupancy(ctx, "bad", d)
	if err != nil {
		t.Fatal(err)
	}
	if len(occ) != 1 || !occ[0].Start.Equal(s.at(day, "10:00")) || occ[0].Units != 5 || occ[0].Capacity != 10 {
		t.Fatalf("occupancy %+v", occ)
	}
	if _, err := store.Activity(ctx, "nowhere", d, d, s.at(day, "12:00")); err != booking.ErrLocationUnknown {
		t.Fatalf("unknown location: %v", err)
	}
}

func TestStatsExpected(t *testing.T) {
	s, store := newStatsSeed(t)
	ctx := context.Background()
	var none time.Time
	const next = "2030-01-14" // a Monday
	s.booking("amt", "ausweis", s.at(next, "09:00"), 1, booking.StatusConfirmed)
	s.booking("amt", "ausweis", s.at(next, "09:15"), 1, booking.StatusPendingPayment)
	s.booking("amt", "ausweis", s.at(next, "09:30"), 1, booking.StatusCancelled)
	// Walk-ins of the Mondays before: two at nine a week ago, one at nine
	// and one at eleven two weeks ago; three weeks ago closed (no ticket).
	s.ticket("amt", 0, booking.QueueServed, s.at("2030-01-07", "09:10"), none, none)
	s.ticket("amt", 0, booking.QueueServed, s.at("2030-01-07", "09:40"), none, none)
	s.ticket("amt", s.booking("amt", "ausweis", s.at("2030-01-07", "10:00"), 1, booking.StatusConfirmed),
		booking.QueueServed, s.at("2030-01-07", "09:55"), none, none) // an appointment, not a walk-in
	s.ticket("amt", 0, booking.QueueServed, s.at("2029-12-31", "09:20"), none, none)
	s.ticket("amt", 0, booking.QueueServed, s.at("2029-12-31", "11:00"), none, none)
	s.ticket("amt", 0, booking.QueueServed, s.at("2030-01-08", "09:00"), none, none) // a Tuesday

	got, err := store.Expected(ctx, "amt", date(t, next), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []booking.ExpectedHour{{Hour: 9, Appointments: 2, WalkInsAverage: 1.5}, {Hour: 11, WalkInsAverage: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("expected:\n got %+v\nwant %+v", got, want)
	}
	// A pool expects persons, not bookings.
	s.booking("bad", "eintritt", s.at(next, "10:00"), 4, booking.StatusConfirmed)
	pool, err := store.Expected(ctx, "bad", date(t, next), 4)
	if err != nil || len(pool) != 1 || pool[0] != (booking.ExpectedHour{Hour: 10, Appointments: 4}) {
		t.Fatalf("pool expected %+v %v", pool, err)
	}
}

// TestStatsQueryPlans seeds a month of three busy locations and checks
// that every statistics query reads its tables through an index, not by a
// scan of the whole table.
func TestStatsQueryPlans(t *testing.T) {
	s, _ := newStatsSeed(t)
	ctx := context.Background()
	for _, l := range []string{"nord", "sued"} {
		if _, err := s.db.Exec(`INSERT INTO locations (id, kind, name, timezone, capacity, slot_minutes, closed_on_holidays,
			booking_horizon_days, opening, closures) SELECT $1, kind, name, timezone, capacity, slot_minutes, closed_on_holidays,
			booking_horizon_days, opening, closures FROM locations WHERE id = 'amt'`, l); err != nil {
			t.Fatal(err)
		}
	}
	// 30 days × 32 quarter hours × 2 desks per location, and as many
	// queue tickets.
	if _, err := s.db.ExecContext(ctx, `
		INSERT INTO bookings (code, hold_id, manage_token_hash, location_id, service_id, start_at, end_at, unit_indexes,
			name, email, status, calendar_uid)
		SELECT 'S' || l || n, 'S' || l || n, '\x00', l, 'ausweis', t, t + interval '15 minutes', ARRAY[u], 'N', 'n@example.org',
			CASE WHEN n % 10 = 0 THEN 'cancelled' ELSE 'confirmed' END, 'S' || l || n
		FROM (SELECT l, u, t, row_number() OVER () AS n
			FROM unnest(ARRAY['amt', 'nord', 'sued']) l, generate_series(0, 1) u,
				generate_series(timestamptz '2030-01-01 08:00+01', '2030-01-30 15:45+01', interval '15 minutes') t
			WHERE extract(hour FROM t AT TIME ZONE 'Europe/Berlin') BETWEEN 8 AND 15) x`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `
		INSERT INTO queue_tickets (location_id, day, number, booking_id, state, created_at, called_at, finished_at)
		SELECT location_id, (start_at AT TIME ZONE 'Europe/Berlin')::date, 'W' || id, CASE WHEN id % 2 = 0 THEN id END,
			'served', start_at - interval '5 minutes', start_at, start_at + interval '10 minutes'
		FROM bookings`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO booking_units (booking_id, location_id, cell_start, unit)
		SELECT id, location_id, start_at, unit_indexes[1] FROM bookings WHERE status = 'confirmed'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	tz, _ := time.LoadLocation("Europe/Berlin")
	from, to := time.Date(2030, 1, 14, 0, 0, 0, 0, tz), time.Date(2030, 1, 15, 0, 0, 0, 0, tz)
	days := pq.Array([]string{"2030-01-07", "2029-12-31", "2029-12-24", "2029-12-17"})
	args := map[string][]any{
		"activity appointments": {"amt", from, to, "Europe/Berlin", to, "office"},
		"activity tickets":      {"amt", "2030-01-14", "2030-01-14", "Europe/Berlin"},
		"occupancy":             {"amt", from, to},
		"expected appointments": {"amt", from, to, "Europe/Berlin", "office"},
		"open days":             {"amt", days},
		"walk-in history":       {"amt", days, "Europe/Berlin"},
	}
	for name, q := range bookingpg.StatsQueries {
		var plan []string
		if err := s.db.SelectContext(ctx, &plan, "EXPLAIN "+q, args[name]...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		text := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", name, text)
		for _, table := range []string{"bookings", "queue_tickets", "booking_units", "ticket_redemptions"} {
			if strings.Contains(text, "Seq Scan on "+table) {
				t.Errorf("%s scans all of %s:\n%s", name, table, text)
			}
		}
		// An index scan without a condition reads the whole index.
		for i, line := range plan {
			if strings.Contains(line, "Index Scan") && (i+1 == len(plan) || !strings.Contains(plan[i+1], "Index Cond")) &&
				!strings.Contains(line, "Bitmap Heap") {
				t.Errorf("%s reads a whole index:\n%s", name, text)
			}
		}
	}
}

// Days and hours are the location's local ones, also on the day the
// clocks go forward.
func TestStatsActivityAcrossDST(t *testing.T) {
	s, store := newStatsSeed(t)
	ctx := context.Background()
	s.booking("amt", "ausweis", s.at("2030-03-30", "23:30"), 1, booking.StatusConfirmed) // UTC+1
	s.booking("amt", "ausweis", s.at("2030-03-31", "00:30"), 1, booking.StatusConfirmed)
	s.booking("amt", "ausweis", s.at("2030-03-31", "04:00"), 1, booking.StatusConfirmed) // UTC+2
	s.booking("amt", "ausweis", s.at("2030-04-01", "00:10"), 1, booking.StatusConfirmed)
	d := date(t, "2030-03-31")
	got, err := store.Activity(ctx, "amt", d, d, s.at("2030-03-01", "00:00"))
	if err != nil {
		t.Fatal(err)
	}
	want := []booking.HourStats{{Day: d, Hour: 0, Booked: 1}, {Day: d, Hour: 4, Booked: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("activity on the DST day:\n got %+v\nwant %+v", got, want)
	}
}
