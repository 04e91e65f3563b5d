// Package mailtest holds an in-memory outbox and booking reader for tests
// of the mail worker and of code that wires it, and a contract test that
// any implementation of mail.Events must pass.
package mailtest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
)

// MemStore is an in-memory booking events outbox and booking reader with
// the semantics mail.Events asks for: claims under a lease, fenced by the
// attempt count. Safe for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	rows     map[int64]*Row
	nextID   int64
	bookings map[int64]mail.Booking
	readErr  error
}

// Row is one outbox row as stored.
type Row struct {
	Event      mail.Event // Attempt is the number of claims so far
	State      string     // pending, done or dead
	LeaseUntil time.Time
	LastError  string
	DoneAt     time.Time
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{rows: map[int64]*Row{}, bookings: map[int64]mail.Booking{}}
}

// FailReads makes MailBooking fail with err (nil: read again).
func (s *MemStore) FailReads(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readErr = err
}

// AddBooking stores or replaces a booking.
func (s *MemStore) AddBooking(b mail.Booking) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bookings[b.ID] = b
}

// Add writes a pending event and returns its id.
func (s *MemStore) Add(kind string, bookingID int64, lang string, deliverAfter time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.rows[s.nextID] = &Row{
		Event: mail.Event{ID: s.nextID, Kind: kind, BookingID: bookingID, Lang: lang, DeliverAfter: deliverAfter, CreatedAt: deliverAfter},
		State: "pending",
	}
	return s.nextID
}

// Row returns a copy of an event's row.
func (s *MemStore) Row(id int64) Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.rows[id]
}

func (s *MemStore) ClaimEvents(_ context.Context, now time.Time, max int, lease time.Duration) ([]mail.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*Row
	for _, r := range s.rows {
		if r.State == "pending" && !r.Event.DeliverAfter.After(now) && (r.LeaseUntil.IsZero() || r.LeaseUntil.Before(now)) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].Event.DeliverAfter.Equal(due[j].Event.DeliverAfter) {
			return due[i].Event.DeliverAfter.Before(due[j].Event.DeliverAfter)
		}
		return due[i].Event.ID < due[j].Event.ID
	})
	if len(due) > max {
		due = due[:max]
	}
	out := make([]mail.Event, 0, len(due))
	for _, r := range due {
		r.Event.Attempt++
		r.LeaseUntil = now.Add(lease)
		ev := r.Event
		ev.LeaseUntil = r.LeaseUntil
		out = append(out, ev)
	}
	return out, nil
}

func (s *MemStore) held(ev mail.Event) (*Row, error) {
	r, ok := s.rows[ev.ID]
	if !ok || r.State != "pending" || r.Event.Attempt != ev.Attempt {
		return nil, fmt.Errorf("event %d: %w", ev.ID, mail.ErrLeaseLost)
	}
	return r, nil
}

func (s *MemStore) EventDone(_ context.Context, ev mail.Event, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.State, r.DoneAt, r.LeaseUntil = "done", now, time.Time{}
	return nil
}

func (s *MemStore) EventFailed(_ context.Context, ev mail.Event, next time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.Event.DeliverAfter, r.LeaseUntil, r.LastError = next, time.Time{}, reason
	return nil
}

func (s *MemStore) EventDead(_ context.Context, ev mail.Event, now time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.State, r.DoneAt, r.LeaseUntil, r.LastError = "dead", now, time.Time{}, reason
	return nil
}

func (s *MemStore) DeadEvents(_ context.Context, max int) ([]mail.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mail.Event
	for _, r := range s.rows {
		if r.State == "dead" {
			ev := r.Event
			ev.LastError = r.LastError
			out = append(out, ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func (s *MemStore) MailBooking(_ context.Context, id int64) (mail.Booking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr != nil {
		return mail.Booking{}, s.readErr
	}
	b, ok := s.bookings[id]
	if !ok {
		return mail.Booking{}, fmt.Errorf("booking %d: %w", id, mail.ErrNoBooking)
	}
	return b, nil
}
