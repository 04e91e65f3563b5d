package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
)

func recordInbox(ctx context.Context, q sqlx.ExecerContext, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	var pid, ev any
	if paymentID != 0 {
		pid = paymentID
	}
	if eventID != "" {
		ev = eventID
	}
	if body == nil {
		body = []byte{}
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO payment_inbox (payment_id, kind, event_id, verified, body) VALUES ($1, $2, $3, $4, $5)`,
		pid, kind, ev, verified, body); err != nil {
		return unavailable("record inbox", err)
	}
	return nil
}

// RecordInbox appends a raw platform answer or callback.
func (s *Store) RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	return recordInbox(ctx, s.db, paymentID, kind, eventID, verified, body)
}

func (t *txStore) RecordInbox(ctx context.Context, paymentID int64, kind, eventID string, verified bool, body []byte) error {
	return recordInbox(ctx, t.tx, paymentID, kind, eventID, verified, body)
}

// SeenEvent reports whether a verified notification with this event id
// was stored before.
func (s *Store) SeenEvent(ctx context.Context, eventID string) (bool, error) {
	var seen bool
	err := s.db.GetContext(ctx, &seen, `SELECT EXISTS (SELECT 1 FROM payment_inbox WHERE kind = 'notify' AND verified AND event_id = $1)`, eventID)
	if err != nil {
		return false, unavailable("inbox lookup", err)
	}
	return seen, nil
}

// InboxCount counts inbox rows of a payment (tests and support).
func (s *Store) InboxCount(ctx context.Context, reference string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM payment_inbox i JOIN payments p ON p.id = i.payment_id WHERE p.reference = $1`, reference)
	if err != nil {
		return 0, unavailable("inbox count", err)
	}
	return n, nil
}
