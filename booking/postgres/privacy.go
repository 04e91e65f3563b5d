package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// PersonalData reads what the booking record holds about the person of
// one booking: the booking and its mails (kind, time and outcome; never
// an error text, which may quote an address).
func (s *Store) PersonalData(ctx context.Context, id int64) (*booking.PersonalData, error) {
	b, err := bookingByID(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Kind       string     `db:"kind"`
		CreatedAt  time.Time  `db:"created_at"`
		DoneAt     *time.Time `db:"done_at"`
		State      string     `db:"state"`
		Superseded bool       `db:"superseded"`
	}
	if err := s.db.SelectContext(ctx, &rows, `
		SELECT kind, created_at, done_at, state, coalesce(last_error = 'superseded', false) AS superseded
		FROM booking_events WHERE booking_id = $1 ORDER BY created_at, id`, id); err != nil {
		return nil, unavailable(fmt.Sprintf("mails of booking %d", id), err)
	}
	pd := &booking.PersonalData{Booking: b, Mails: make([]booking.MailRecord, 0, len(rows))}
	for _, r := range rows {
		m := booking.MailRecord{Kind: r.Kind, QueuedAt: r.CreatedAt, DoneAt: r.DoneAt}
		switch {
		case r.State == "pending":
			m.State = booking.MailPending
		case r.State == "dead":
			m.State = booking.MailGivenUp
		case r.Superseded:
			m.State = booking.MailSuperseded
		default:
			m.State = booking.MailSent
		}
		pd.Mails = append(pd.Mails, m)
	}
	return pd, nil
}
