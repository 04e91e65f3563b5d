package mail_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
)

// memStore is an in-memory booking events outbox and booking reader with
// the semantics mail.Events asks for: claims under a lease, fenced by the
// attempt count.
type memStore struct {
	mu       sync.Mutex
	rows     map[int64]*memRow
	nextID   int64
	bookings map[int64]mail.Booking
	// readErr, when set, fails MailBooking.
	readErr error
}

type memRow struct {
	ev         mail.Event
	state      string
	leaseUntil time.Time
	lastError  string
	doneAt     time.Time
}

func newMemStore() *memStore {
	return &memStore{rows: map[int64]*memRow{}, bookings: map[int64]mail.Booking{}}
}

func (s *memStore) addBooking(b mail.Booking) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bookings[b.ID] = b
}

func (s *memStore) add(kind string, bookingID int64, lang string, deliverAfter time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.rows[s.nextID] = &memRow{
		ev:    mail.Event{ID: s.nextID, Kind: kind, BookingID: bookingID, Lang: lang, DeliverAfter: deliverAfter, CreatedAt: deliverAfter},
		state: "pending",
	}
	return s.nextID
}

func (s *memStore) row(id int64) memRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.rows[id]
}

func (s *memStore) ClaimEvents(_ context.Context, now time.Time, max int, lease time.Duration) ([]mail.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*memRow
	for _, r := range s.rows {
		if r.state == "pending" && !r.ev.DeliverAfter.After(now) && (r.leaseUntil.IsZero() || r.leaseUntil.Before(now)) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].ev.DeliverAfter.Equal(due[j].ev.DeliverAfter) {
			return due[i].ev.DeliverAfter.Before(due[j].ev.DeliverAfter)
		}
		return due[i].ev.ID < due[j].ev.ID
	})
	if len(due) > max {
		due = due[:max]
	}
	out := make([]mail.Event, 0, len(due))
	for _, r := range due {
		r.ev.Attempt++
		r.leaseUntil = now.Add(lease)
		ev := r.ev
		ev.LeaseUntil = r.leaseUntil
		out = append(out, ev)
	}
	return out, nil
}

func (s *memStore) held(ev mail.Event) (*memRow, error) {
	r, ok := s.rows[ev.ID]
	if !ok || r.state != "pending" || r.ev.Attempt != ev.Attempt {
		return nil, fmt.Errorf("event %d: %w", ev.ID, mail.ErrLeaseLost)
	}
	return r, nil
}

func (s *memStore) EventDone(_ context.Context, ev mail.Event, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.state, r.doneAt, r.leaseUntil = "done", now, time.Time{}
	return nil
}

func (s *memStore) EventFailed(_ context.Context, ev mail.Event, next time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.ev.DeliverAfter, r.leaseUntil, r.lastError = next, time.Time{}, reason
	return nil
}

func (s *memStore) EventDead(_ context.Context, ev mail.Event, now time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(ev)
	if err != nil {
		return err
	}
	r.state, r.doneAt, r.leaseUntil, r.lastError = "dead", now, time.Time{}, reason
	return nil
}

func (s *memStore) DeadEvents(_ context.Context, max int) ([]mail.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []mail.Event
	for _, r := range s.rows {
		if r.state == "dead" {
			ev := r.ev
			ev.LastError = r.lastError
			out = append(out, ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

func (s *memStore) MailBooking(_ context.Context, id int64) (mail.Booking, error) {
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

// clock is a settable clock for workers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recordingSender keeps what it was asked to send and fails on demand.
type recordingSender struct {
	mu   sync.Mutex
	sent []*mail.Message
	// fail returns the error for the next send (nil: success).
	fail func(m *mail.Message) error
}

func (s *recordingSender) Send(ctx context.Context, m *mail.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(m); err != nil {
			return err
		}
	}
	s.sent = append(s.sent, m)
	return nil
}

func (s *recordingSender) messages() []*mail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*mail.Message(nil), s.sent...)
}

// testBooking is a Bürgeramt appointment with two services at 10:30
// Berlin time.
func testBooking() mail.Booking {
	start := time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	return mail.Booking{
		ID: 7, Code: "K7M2Q9", Status: mail.StatusConfirmed,
		Name: "Anna Beispiel", Email: "anna@example.org", Lang: "de",
		CalendarUID: "q4z8x1c7v2b9n3m5@termin", Sequence: 0,
		Start: start, End: start.Add(40 * time.Minute), Timezone: "Europe/Berlin",
		LocationID: "buergeramt-koblenz", LocationName: "Bürgeramt Koblenz",
		LocationAddress: "Bahnhofstraße 47, 56068 Koblenz",
		Services: []mail.Service{
			{ID: "personalausweis", Name: "Personalausweis beantragen", Bring: mail.Text{DE: "Altes Ausweisdokument, biometrisches Passfoto", EN: "Old identity document, biometric photo"}},
			{ID: "reisepass", Name: "Reisepass beantragen", Bring: mail.Text{DE: "Biometrisches Passfoto"}},
		},
		Persons: 1, FeeCents: 9700,
		ManageToken: "Zm9v-YmFy_dG9rZW4",
	}
}

// poolBooking is a pool order of 2 + 1 tickets paid online.
func poolBooking() mail.Booking {
	start := time.Date(2026, 7, 14, 13, 0, 0, 0, time.UTC) // 15:00 summer time
	return mail.Booking{
		ID: 8, Code: "P3W9R2", Status: mail.StatusConfirmed,
		Name: "Ben Muster", Email: "ben@example.org", Lang: "en",
		CalendarUID: "a1s2d3f4g5h6j7k8@termin",
		Start:       start, End: start.Add(2 * time.Hour), Timezone: "Europe/Berlin",
		LocationID: "stadtbad", LocationName: "Stadtbad Koblenz",
		Tickets: []mail.Ticket{{ID: "erwachsene", Name: "Erwachsene", Count: 2}, {ID: "ermaessigt", Name: "ermäßigt", Count: 1}},
		Persons: 3, FeeCents: 1150, PaidOnline: true,
		ManageToken: "cG9vbC10b2tlbg",
	}
}
