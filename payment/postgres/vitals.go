package postgres

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Vitals reads payments and the outbox for monitoring; stuckAfter is the
// platform timeout plus the grace for late answers.
func (s *Store) Vitals(ctx context.Context, now time.Time, stuckAfter time.Duration) (payment.Vitals, error) {
	v := payment.Vitals{Payments: map[string]int{}, Outbox: map[string]payment.OutboxVitals{}}
	var states []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &states, `SELECT state, count(*) AS n FROM payments GROUP BY state`); err != nil {
		return v, unavailable("vitals: payments", err)
	}
	for _, st := range states {
		v.Payments[st.State] = st.N
	}
	if err := s.db.GetContext(ctx, &v.Stuck, `
		SELECT count(*) FROM payments WHERE state = 'initiated' AND created_at < $1`, now.Add(-stuckAfter)); err != nil {
		return v, unavailable("vitals: stuck payments", err)
	}
	var outbox []struct {
		Kind    string     `db:"kind"`
		Pending int        `db:"pending"`
		Dead    int        `db:"dead"`
		Oldest  *time.Time `db:"oldest"`
	}
	if err := s.db.SelectContext(ctx, &outbox, `
		SELECT kind, count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'dead') AS dead,
			min(next_attempt_at) FILTER (WHERE state = 'pending' AND next_attempt_at <= $1) AS oldest
		FROM payment_outbox WHERE state IN ('pending', 'dead') GROUP BY kind`, now); err != nil {
		return v, unavailable("vitals: outbox", err)
	}
	for _, o := range outbox {
		ov := payment.OutboxVitals{Pending: o.Pending, Dead: o.Dead}
		if o.Oldest != nil {
			ov.Lag = now.Sub(*o.Oldest)
		}
		v.Outbox[o.Kind] = ov
	}
	return v, nil
}
