package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// openingRow and closureRow are how opening rules and closures are kept
// in the locations table's jsonb columns.
type openingRow struct {
	Weekday time.Weekday      `json:"weekday"`
	Opens   booking.ClockTime `json:"opens"`
	Closes  booking.ClockTime `json:"closes"`
}

type closureRow struct {
	Day    booking.Date `json:"day"`
	Reason string       `json:"reason"`
}

type serviceRow struct {
	ID              string `db:"id"`
	LocationID      string `db:"location_id"`
	Name            string `db:"name"`
	DurationMinutes int    `db:"duration_minutes"`
	FeeCents        int64  `db:"fee_cents"`
	Payment         string `db:"payment"`
	MaxUnits        int    `db:"max_units"`
	QueuePrefix     string `db:"queue_prefix"`
	BringDE         string `db:"what_to_bring_de"`
	BringEN         string `db:"what_to_bring_en"`
}

// SaveCatalog inserts or updates locations and their services. Services of
// a location that are not listed are deactivated, not deleted: bookings
// keep pointing at them.
func (s *Store) SaveCatalog(ctx context.Context, locs []booking.Location, services []booking.Service) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return saveCatalog(ctx, tx, locs, services) })
}

func saveCatalog(ctx context.Context, tx *sqlx.Tx, locs []booking.Location, services []booking.Service) error {
	if err := bumpLayouts(ctx, tx, locs); err != nil {
		return err
	}
	if err := bumpCatalog(ctx, tx); err != nil {
		return err
	}
	for _, l := range locs {
		opening := make([]openingRow, 0, len(l.Opening))
		for _, o := range l.Opening {
			opening = append(opening, openingRow{o.Weekday, o.Opens, o.Closes})
		}
		closures := make([]closureRow, 0, len(l.Closures))
		for _, c := range l.Closures {
			closures = append(closures, closureRow{c.Day, c.Reason})
		}
		openingJSON, err := json.Marshal(opening)
		if err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
		closuresJSON, err := json.Marshal(closures)
		if err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO locations (id, kind, name, timezone, capacity, slot_minutes, closed_on_holidays, booking_horizon_days, opening, closures,
				street, postal_code, city, lead_minutes, activation_minutes,
				release_every, release_at_minute, release_days_ahead, release_day_of_month, cancel_block_minutes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			ON CONFLICT (id) DO UPDATE SET kind = $2, name = $3, timezone = $4, capacity = $5, slot_minutes = $6,
				closed_on_holidays = $7, booking_horizon_days = $8, opening = $9, closures = $10,
				street = $11, postal_code = $12, city = $13, lead_minutes = $14, activation_minutes = $15,
				release_every = $16, release_at_minute = $17, release_days_ahead = $18, release_day_of_month = $19,
				cancel_block_minutes = $20, updated_at = now()`,
			l.ID, l.Kind, l.Name, l.Timezone, l.Capacity, l.SlotMinutes, l.ClosedOnHolidays, l.BookingHorizonDays, openingJSON, closuresJSON,
			l.Address.Street, l.Address.PostalCode, l.Address.City, l.LeadMinutes, l.ActivationMinutes,
			l.Release.Every, int(l.Release.At), l.Release.DaysAhead, l.Release.DayOfMonth, l.CancelBlockMinutes); err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE services SET active = false WHERE location_id = $1`, l.ID); err != nil {
			return fmt.Errorf("save location %s: %w", l.ID, err)
		}
	}
	for i, sv := range services {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO services (id, location_id, name, duration_minutes, fee_cents, payment, max_units, position, active, queue_prefix,
				what_to_bring_de, what_to_bring_en)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $10, $11)
			ON CONFLICT (id) DO UPDATE SET location_id = $2, name = $3, duration_minutes = $4, fee_cents = $5,
				payment = $6, max_units = $7, position = $8, active = true, queue_prefix = $9,
				what_to_bring_de = $10, what_to_bring_en = $11`,
			sv.ID, sv.LocationID, sv.Name, sv.DurationMinutes, sv.FeeCents, sv.Payment, sv.MaxUnits, i, sv.QueuePrefixOrDefault(),
			sv.WhatToBring.DE, sv.WhatToBring.EN); err != nil {
			return fmt.Errorf("save service %s: %w", sv.ID, err)
		}
	}
	return nil
}

// LoadCatalog reads all locations and their active services.
func (s *Store) LoadCatalog(ctx context.Context) ([]booking.Location, []booking.Service, error) {
	rows, err := s.db.QueryxContext(ctx, `
		SELECT id, kind, name, timezone, capacity, slot_minutes, closed_on_holidays, booking_horizon_days, opening, closures,
			street, postal_code, city, lead_minutes, activation_minutes,
			release_every, release_at_minute, release_days_ahead, release_day_of_month, cancel_block_minutes
		FROM locations ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("load locations: %w", err)
	}
	defer rows.Close()
	var locs []booking.Location
	for rows.Next() {
		var l booking.Location
		var openingJSON, closuresJSON []byte
		if err := rows.Scan(&l.ID, &l.Kind, &l.Name, &l.Timezone, &l.Capacity, &l.SlotMinutes,
			&l.ClosedOnHolidays, &l.BookingHorizonDays, &openingJSON, &closuresJSON,
			&l.Address.Street, &l.Address.PostalCode, &l.Address.City, &l.LeadMinutes, &l.ActivationMinutes,
			&l.Release.Every, &l.Release.At, &l.Release.DaysAhead, &l.Release.DayOfMonth, &l.CancelBlockMinutes); err != nil {
			return nil, nil, fmt.Errorf("load locations: %w", err)
		}
		var opening []openingRow
		var closures []closureRow
		if err := json.Unmarshal(openingJSON, &opening); err != nil {
			return nil, nil, fmt.Errorf("location %s opening: %w", l.ID, err)
		}
		if err := json.Unmarshal(closuresJSON, &closures); err != nil {
			return nil, nil, fmt.Errorf("location %s closures: %w", l.ID, err)
		}
		for _, o := range opening {
			l.Opening = append(l.Opening, booking.OpeningRule{Weekday: o.Weekday, Opens: o.Opens, Closes: o.Closes})
		}
		for _, c := range closures {
			l.Closures = append(l.Closures, booking.Closure{Day: c.Day, Reason: c.Reason})
		}
		locs = append(locs, l)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load locations: %w", err)
	}
	var rowsOfServices []serviceRow
	if err := s.db.SelectContext(ctx, &rowsOfServices, `
		SELECT id, location_id, name, duration_minutes, fee_cents, payment, max_units, queue_prefix, what_to_bring_de, what_to_bring_en
		FROM services WHERE active ORDER BY location_id, position`); err != nil {
		return nil, nil, fmt.Errorf("load services: %w", err)
	}
	services := make([]booking.Service, len(rowsOfServices))
	for i, r := range rowsOfServices {
		services[i] = booking.Service{ID: r.ID, LocationID: r.LocationID, Name: r.Name, DurationMinutes: r.DurationMinutes,
			FeeCents: r.FeeCents, Payment: r.Payment, MaxUnits: r.MaxUnits, QueuePrefix: r.QueuePrefix,
			WhatToBring: booking.Text{DE: r.BringDE, EN: r.BringEN}}
	}
	if err := loadLayouts(ctx, s.db, locs); err != nil {
		return nil, nil, err
	}
	return locs, services, nil
}
