package mail_test

import (
	"context"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
	"github.com/digitale-verwaltung/termin/mail/mailtest"
)

type memStore = mailtest.MemStore

func newMemStore() *memStore { return mailtest.NewMemStore() }

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
