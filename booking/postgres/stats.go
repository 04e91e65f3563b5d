package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lib/pq"

	"github.com/digitale-verwaltung/termin/booking"
)

// The statistics read one location at a time, so that every query is a
// range scan of an index that leads with the location: bookings by
// (location_id, start_at), queue tickets by (location_id, day, ...), booking
// units by (location_id, cell_start, unit), admissions and check-ins by
// their keys. Hours are local hours of the location's time zone.

// The statistics queries, named for the EXPLAIN test.
const (
	activityAppointmentsSQL = `
		SELECT to_char(b.start_at AT TIME ZONE $4, 'YYYY-MM-DD') AS day,
			extract(hour FROM b.start_at AT TIME ZONE $4)::int AS hour,
			count(*) FILTER (WHERE b.status = 'confirmed') AS booked,
			count(*) FILTER (WHERE b.status = 'cancelled') AS cancelled,
			count(*) FILTER (WHERE b.status = 'confirmed' AND b.start_at < $5) AS due,
			count(*) FILTER (WHERE b.status = 'confirmed' AND b.start_at < $5 AND
				CASE WHEN $6 = 'pool' THEN r.booking_code IS NULL ELSE q.id IS NULL END) AS no_shows
		FROM bookings b
		LEFT JOIN LATERAL (SELECT q.id FROM queue_tickets q
			WHERE $6 <> 'pool' AND q.booking_id = b.id AND q.state <> 'no_show' LIMIT 1) q ON true
		LEFT JOIN LATERAL (SELECT r.booking_code FROM ticket_redemptions r
			WHERE $6 = 'pool' AND r.location_id = b.location_id AND r.booking_code = b.code LIMIT 1) r ON true
		WHERE b.location_id = $1 AND b.start_at >= $2 AND b.start_at < $3
		GROUP BY 1, 2`
	activityTicketsSQL = `
		SELECT to_char(q.day, 'YYYY-MM-DD') AS day, extract(hour FROM q.created_at AT TIME ZONE $4)::int AS hour,
			count(*) FILTER (WHERE q.booking_id IS NULL) AS walk_ins,
			count(*) FILTER (WHERE q.booking_id IS NOT NULL) AS check_ins,
			count(q.called_at) AS waited,
			COALESCE(sum(extract(epoch FROM q.called_at - q.created_at)), 0)::float8 AS wait_seconds,
			count(*) FILTER (WHERE q.state = 'served' AND q.called_at IS NOT NULL AND q.finished_at IS NOT NULL) AS served,
			COALESCE(sum(extract(epoch FROM q.finished_at - COALESCE(q.last_called_at, q.called_at))) FILTER (WHERE q.state = 'served'), 0)::float8 AS service_seconds
		FROM queue_tickets q
		WHERE q.location_id = $1 AND q.day >= $2::date AND q.day <= $3::date
		GROUP BY 1, 2`
	occupancySQL = `
		SELECT u.cell_start, count(*) AS units FROM booking_units u
		WHERE u.location_id = $1 AND u.cell_start >= $2 AND u.cell_start < $3
		GROUP BY u.cell_start ORDER BY u.cell_start`
	expectedAppointmentsSQL = `
		SELECT extract(hour FROM b.start_at AT TIME ZONE $4)::int AS hour,
			CASE WHEN $5 = 'pool' THEN COALESCE(sum(cardinality(b.unit_indexes)), 0) ELSE count(*) END AS n
		FROM bookings b
		WHERE b.location_id = $1 AND b.start_at >= $2 AND b.start_at < $3 AND b.status <> 'cancelled'
		GROUP BY 1`
	openDaysSQL = `SELECT count(DISTINCT q.day) FROM queue_tickets q
		WHERE q.location_id = $1 AND q.day = ANY($2::date[])`
	walkInHistorySQL = `
			SELECT extract(hour FROM q.created_at AT TIME ZONE $3)::int AS hour, count(*) AS n
			FROM queue_tickets q
			WHERE q.location_id = $1 AND q.day = ANY($2::date[]) AND q.booking_id IS NULL
			GROUP BY 1`
)

// statsLocation is what the statistics need to know of a location.
type statsLocation struct {
	Kind     string `db:"kind"`
	Timezone string `db:"timezone"`
	Capacity int    `db:"capacity"`
	tz       *time.Location
}

func (s *Store) statsLocation(ctx context.Context, id string) (*statsLocation, error) {
	var l statsLocation
	err := s.db.GetContext(ctx, &l, `SELECT kind, timezone, capacity FROM locations WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrLocationUnknown
	}
	if err != nil {
		return nil, unavailable("location of statistics", err)
	}
	if l.tz, err = time.LoadLocation(l.Timezone); err != nil {
		return nil, fmt.Errorf("location %s: time zone %q: %w", id, l.Timezone, err)
	}
	return &l, nil
}

type hourKey struct {
	day  string
	hour int
}

// Activity counts, per local day and hour from from to to (inclusive), a
// location's appointments, cancellations and no-shows (by appointment
// start), and its queue tickets with their waiting and service times (by
// the time the ticket was drawn). now decides which appointments are due.
// Hours without anything are left out; rows come in time order.
func (s *Store) Activity(ctx context.Context, location string, from, to booking.Date, now time.Time) ([]booking.HourStats, error) {
	loc, err := s.statsLocation(ctx, location)
	if err != nil {
		return nil, err
	}
	start, end := from.Midnight(loc.tz), to.AddDays(1).Midnight(loc.tz)
	rows := map[hourKey]*booking.HourStats{}
	row := func(day string, hour int) (*booking.HourStats, error) {
		k := hourKey{day, hour}
		if r, ok := rows[k]; ok {
			return r, nil
		}
		d, err := booking.ParseDate(day)
		if err != nil {
			return nil, err
		}
		r := &booking.HourStats{Day: d, Hour: hour}
		rows[k] = r
		return r, nil
	}

	// A confirmed appointment is a no-show when nobody came: at an office
	// no queue ticket other than one marked no-show, at a pool no
	// admission at the entrance.
	var appts []struct {
		Day       string `db:"day"`
		Hour      int    `db:"hour"`
		Booked    int    `db:"booked"`
		Cancelled int    `db:"cancelled"`
		Due       int    `db:"due"`
		NoShows   int    `db:"no_shows"`
	}
	err = s.db.SelectContext(ctx, &appts, activityAppointmentsSQL, location, start, end, loc.Timezone, now, loc.Kind)
	if err != nil {
		return nil, unavailable("appointment statistics of "+location, err)
	}
	for _, a := range appts {
		r, err := row(a.Day, a.Hour)
		if err != nil {
			return nil, err
		}
		r.Booked, r.Cancelled, r.Due, r.NoShows = a.Booked, a.Cancelled, a.Due, a.NoShows
	}

	// Waiting time runs from drawing the ticket (or checking in) to its
	// first call, service time from its latest call (a recall, or the call
	// after a transfer) to the end of a served ticket.
	var tickets []struct {
		Day            string  `db:"day"`
		Hour           int     `db:"hour"`
		WalkIns        int     `db:"walk_ins"`
		CheckIns       int     `db:"check_ins"`
		Waited         int     `db:"waited"`
		WaitSeconds    float64 `db:"wait_seconds"`
		Served         int     `db:"served"`
		ServiceSeconds float64 `db:"service_seconds"`
	}
	err = s.db.SelectContext(ctx, &tickets, activityTicketsSQL, location, from.String(), to.String(), loc.Timezone)
	if err != nil {
		return nil, unavailable("queue statistics of "+location, err)
	}
	for _, q := range tickets {
		r, err := row(q.Day, q.Hour)
		if err != nil {
			return nil, err
		}
		r.WalkIns, r.CheckIns, r.Waited, r.Served = q.WalkIns, q.CheckIns, q.Waited, q.Served
		r.WaitTotal = time.Duration(q.WaitSeconds * float64(time.Second)).Round(time.Second)
		r.ServiceTotal = time.Duration(q.ServiceSeconds * float64(time.Second)).Round(time.Second)
	}

	out := make([]booking.HourStats, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day.Before(out[j].Day)
		}
		return out[i].Hour < out[j].Hour
	})
	return out, nil
}

// Occupancy lists the slots (grid cells) of one local day of a location
// that live bookings occupy, with the units taken and the capacity.
func (s *Store) Occupancy(ctx context.Context, location string, day booking.Date) ([]booking.SlotOccupancy, error) {
	loc, err := s.statsLocation(ctx, location)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Start time.Time `db:"cell_start"`
		Units int       `db:"units"`
	}
	if err := s.db.SelectContext(ctx, &rows, occupancySQL,
		location, day.Midnight(loc.tz), day.AddDays(1).Midnight(loc.tz)); err != nil {
		return nil, unavailable("occupancy of "+location, err)
	}
	out := make([]booking.SlotOccupancy, len(rows))
	for i, r := range rows {
		out[i] = booking.SlotOccupancy{Start: r.Start.In(loc.tz), Units: r.Units, Capacity: loc.Capacity}
	}
	return out, nil
}

// Expected is the hour-by-hour outlook of a coming day at a location: the
// live appointments (persons at a pool) booked for each hour, and the
// walk-in tickets drawn in that hour on the same weekday of the weeks
// before, averaged over those of the days that had any queue ticket (a
// closed day does not pull the average down). Hours with neither are left
// out.
func (s *Store) Expected(ctx context.Context, location string, day booking.Date, weeks int) ([]booking.ExpectedHour, error) {
	loc, err := s.statsLocation(ctx, location)
	if err != nil {
		return nil, err
	}
	hours := map[int]*booking.ExpectedHour{}
	hour := func(h int) *booking.ExpectedHour {
		if e, ok := hours[h]; ok {
			return e
		}
		e := &booking.ExpectedHour{Hour: h}
		hours[h] = e
		return e
	}
	var appts []struct {
		Hour  int `db:"hour"`
		Count int `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &appts, expectedAppointmentsSQL, location, day.Midnight(loc.tz), day.AddDays(1).Midnight(loc.tz), loc.Timezone, loc.Kind); err != nil {
		return nil, unavailable("expected appointments of "+location, err)
	}
	for _, a := range appts {
		hour(a.Hour).Appointments = a.Count
	}

	past := make([]string, weeks)
	for i := range past {
		past[i] = day.AddDays(-7 * (i + 1)).String()
	}
	var open int
	if err := s.db.GetContext(ctx, &open, openDaysSQL, location, pq.Array(past)); err != nil {
		return nil, unavailable("walk-in history of "+location, err)
	}
	if open > 0 {
		var walkIns []struct {
			Hour  int `db:"hour"`
			Count int `db:"n"`
		}
		if err := s.db.SelectContext(ctx, &walkIns, walkInHistorySQL, location, pq.Array(past), loc.Timezone); err != nil {
			return nil, unavailable("walk-in history of "+location, err)
		}
		for _, w := range walkIns {
			hour(w.Hour).WalkInsAverage = float64(w.Count) / float64(open)
		}
	}
	out := make([]booking.ExpectedHour, 0, len(hours))
	for _, e := range hours {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hour < out[j].Hour })
	return out, nil
}
