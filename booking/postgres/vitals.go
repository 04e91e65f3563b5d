package postgres

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// Vitals reads the mail outbox and the devices for monitoring.
func (s *Store) Vitals(ctx context.Context, now time.Time) (booking.Vitals, error) {
	v := booking.Vitals{MailPending: map[string]int{}, MailDead: map[string]int{}, Printers: map[string]int{}}
	var events []struct {
		Kind  string `db:"kind"`
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &events, `
		SELECT kind, state, count(*) AS n FROM booking_events WHERE state IN ('pending', 'dead') GROUP BY kind, state`); err != nil {
		return v, unavailable("vitals: events", err)
	}
	for _, e := range events {
		if e.State == "pending" {
			v.MailPending[e.Kind] = e.N
		} else {
			v.MailDead[e.Kind] = e.N
		}
	}
	var oldest *time.Time
	if err := s.db.GetContext(ctx, &oldest, `
		SELECT min(deliver_after) FROM booking_events WHERE state = 'pending' AND deliver_after <= $1`, now); err != nil {
		return v, unavailable("vitals: mail lag", err)
	}
	if oldest != nil {
		v.MailLag = now.Sub(*oldest)
	}
	var devices []struct {
		Online bool   `db:"online"`
		State  string `db:"state"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &devices, `
		SELECT coalesce(last_seen_at >= $1, false) AS online,
			CASE
				WHEN status->'printer' IS NULL OR NOT coalesce((status->'printer'->>'configured')::boolean, false) THEN 'none'
				WHEN NOT coalesce((status->'printer'->>'connected')::boolean, false) THEN 'disconnected'
				WHEN status->'printer'->>'paper' = 'out' THEN 'paper_out'
				WHEN coalesce((status->'printer'->>'cover_open')::boolean, false) THEN 'cover_open'
				WHEN NOT coalesce((status->'printer'->>'online')::boolean, false) THEN 'offline'
				WHEN status->'printer'->>'paper' = 'near_end' THEN 'paper_low'
				ELSE 'ok'
			END AS state,
			count(*) AS n
		FROM devices WHERE enrolled_at IS NOT NULL AND token_hash IS NOT NULL
		GROUP BY 1, 2`, now.Add(-booking.DeviceOnlineWithin)); err != nil {
		return v, unavailable("vitals: devices", err)
	}
	for _, d := range devices {
		v.DevicesEnrolled += d.N
		if d.Online {
			v.DevicesOnline += d.N
			v.Printers[d.State] += d.N
		}
	}
	return v, nil
}
