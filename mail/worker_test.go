package mail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/mail"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newWorker(t *testing.T, s *memStore, sender mail.Sender, c *clock, tweak func(*mail.Config)) *mail.Worker {
	t.Helper()
	cfg := mail.Config{From: "Stadt Koblenz <termine@koblenz.example>", BaseURL: "https://termine.koblenz.example", Now: c.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	w, err := mail.NewWorker(s, s, sender, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func startClock() *clock { return &clock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)} }

func TestWorkerDeliversDueEvents(t *testing.T) {
	ctx := context.Background()
	c := startClock()
	s := newMemStore()
	b := testBooking()
	s.AddBooking(b)
	confirmed := s.Add(mail.KindConfirmed, b.ID, "de", c.Now())
	reminder := s.Add(mail.KindReminder, b.ID, "de", b.Start.Add(-24*time.Hour))
	sender := &recordingSender{}
	w := newWorker(t, s, sender, c, nil)

	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("first run: %d claimed, %v", n, err)
	}
	if got := s.Row(confirmed).State; got != "done" {
		t.Errorf("confirmation %s, want done", got)
	}
	if got := s.Row(reminder).State; got != "pending" {
		t.Errorf("reminder %s before its time", got)
	}
	c.Add(b.Start.Add(-24 * time.Hour).Sub(c.Now()))
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("reminder run: %d claimed, %v", n, err)
	}
	msgs := sender.messages()
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Subject, "Terminbestätigung") || !strings.HasPrefix(msgs[1].Subject, "Erinnerung") {
		t.Fatalf("sent %d messages: %v", len(msgs), subjects(msgs))
	}
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Errorf("%d events claimed again", n)
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	ctx := context.Background()
	c := startClock()
	s := newMemStore()
	s.AddBooking(testBooking())
	id := s.Add(mail.KindConfirmed, 7, "", c.Now())
	failures := 2
	sender := &recordingSender{fail: func(*mail.Message) error {
		if failures > 0 {
			failures--
			return errors.New("smtp: 451 try again later")
		}
		return nil
	}}
	w := newWorker(t, s, sender, c, nil)

	for attempt, wait := range []time.Duration{30 * time.Second, time.Minute} {
		w.RunOnce(ctx)
		r := s.Row(id)
		if r.State != "pending" || r.LastError == "" || !r.Event.DeliverAfter.Equal(c.Now().Add(wait)) {
			t.Fatalf("after failure %d: state %s, next %s (want +%s), last error %q", attempt+1, r.State, r.Event.DeliverAfter.Sub(c.Now()), wait, r.LastError)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("claimed again before the backoff ended")
		}
		c.Add(wait)
	}
	w.RunOnce(ctx)
	if r := s.Row(id); r.State != "done" || r.Event.Attempt != 3 {
		t.Fatalf("state %s after %d attempts", r.State, r.Event.Attempt)
	}
	if len(sender.messages()) != 1 {
		t.Fatalf("sent %d", len(sender.messages()))
	}
}

func TestWorkerDeadLetters(t *testing.T) {
	noAddress := testBooking()
	noAddress.ID, noAddress.Email = 9, "nobody"
	tests := []struct {
		name      string
		bookingID int64
		fail      error
		attempts  int // RunOnce calls until dead
		reason    string
	}{
		{"permanent refusal", 7, fmt.Errorf("%w: smtp: 550 mailbox unavailable", mail.ErrRejected), 1, "rejected"},
		{"booking gone", 99, nil, 1, "booking not found"},
		{"cannot compose", 9, nil, 1, "no valid e-mail address"},
		{"keeps failing", 7, errors.New("smtp: dial tcp: connection refused"), 3, "gave up after 3 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := startClock()
			s := newMemStore()
			s.AddBooking(testBooking())
			s.AddBooking(noAddress)
			id := s.Add(mail.KindConfirmed, tt.bookingID, "", c.Now())
			sender := &recordingSender{fail: func(*mail.Message) error { return tt.fail }}
			w := newWorker(t, s, sender, c, func(cfg *mail.Config) { cfg.MaxAttempts = 3 })
			for i := 0; i < tt.attempts; i++ {
				if n, err := w.RunOnce(ctx); n != 1 || err != nil {
					t.Fatalf("run %d: %d claimed, %v", i+1, n, err)
				}
				c.Add(time.Hour)
			}
			r := s.Row(id)
			if r.State != "dead" || !strings.Contains(r.LastError, tt.reason) {
				t.Fatalf("state %s, last error %q (want dead, %q)", r.State, r.LastError, tt.reason)
			}
			if strings.Contains(r.LastError, "@example.org") {
				t.Errorf("reason carries an address: %q", r.LastError)
			}
			dead, err := s.DeadEvents(ctx, 10)
			if err != nil || len(dead) != 1 || dead[0].ID != id || dead[0].LastError == "" {
				t.Errorf("dead letters %+v, %v", dead, err)
			}
			if n, _ := w.RunOnce(ctx); n != 0 {
				t.Error("a dead event was claimed again")
			}
		})
	}
}

func TestWorkerRetriesWhenBookingUnreadable(t *testing.T) {
	c := startClock()
	s := newMemStore()
	s.AddBooking(testBooking())
	s.FailReads(errors.New("booking store unavailable"))
	id := s.Add(mail.KindConfirmed, 7, "", c.Now())
	w := newWorker(t, s, &recordingSender{}, c, nil)
	w.RunOnce(context.Background())
	if r := s.Row(id); r.State != "pending" || !strings.Contains(r.LastError, "unavailable") {
		t.Fatalf("state %s, last error %q", r.State, r.LastError)
	}
}

func TestWorkerSkipsWhatNoLongerApplies(t *testing.T) {
	cancelled := testBooking()
	cancelled.Status = mail.StatusCancelled
	activated := testBooking() // confirmed: the activation request is moot
	begun := testBooking()
	tests := []struct {
		name string
		kind string
		b    mail.Booking
		at   time.Time
	}{
		{"reminder of a cancelled booking", mail.KindReminder, cancelled, cancelled.Start.Add(-24 * time.Hour)},
		{"reminder after the start", mail.KindReminder, begun, begun.Start.Add(time.Minute)},
		{"activation request of an activated booking", mail.KindActivationRequested, activated, activated.Start.Add(-48 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: tt.at}
			s := newMemStore()
			s.AddBooking(tt.b)
			id := s.Add(tt.kind, tt.b.ID, "", tt.at)
			sender := &recordingSender{}
			newWorker(t, s, sender, c, nil).RunOnce(context.Background())
			if r := s.Row(id); r.State != "done" {
				t.Errorf("state %s, want done", r.State)
			}
			if len(sender.messages()) != 0 {
				t.Errorf("sent %v", subjects(sender.messages()))
			}
		})
	}
}

func TestWorkerLease(t *testing.T) {
	ctx := context.Background()
	c := startClock()
	s := newMemStore()
	s.AddBooking(testBooking())
	id := s.Add(mail.KindConfirmed, 7, "", c.Now())
	sender := &recordingSender{}
	w := newWorker(t, s, sender, c, func(cfg *mail.Config) { cfg.Lease, cfg.SendTimeout = time.Minute, 20*time.Second })

	// A claim whose lease is nearly over is not sent: another worker may
	// take the event before the send ends.
	evs, _ := s.ClaimEvents(ctx, c.Now(), 1, 25*time.Second)
	if got := w.Handle(ctx, evs[0]); got != mail.OutcomeLost || len(sender.messages()) != 0 {
		t.Fatalf("outcome %s with %d sent, want lease_lost and nothing sent", got, len(sender.messages()))
	}
	// While the claim holds, nobody else gets the event.
	if n, _ := w.RunOnce(ctx); n != 0 {
		t.Fatal("claimed under a live lease")
	}
	// After it, the event is claimed again and sent; the first claim's
	// late result is refused.
	c.Add(26 * time.Second)
	if n, _ := w.RunOnce(ctx); n != 1 || len(sender.messages()) != 1 {
		t.Fatalf("claimed %d, sent %d", n, len(sender.messages()))
	}
	if err := s.EventDone(ctx, evs[0], c.Now()); !errors.Is(err, mail.ErrLeaseLost) {
		t.Fatalf("stale done: %v, want ErrLeaseLost", err)
	}
	if r := s.Row(id); r.State != "done" || r.Event.Attempt != 2 {
		t.Fatalf("state %s attempt %d", r.State, r.Event.Attempt)
	}
}

// Several workers (replicas) against one store never send an event twice.
func TestWorkersSendEachEventOnce(t *testing.T) {
	s := newMemStore()
	c := startClock()
	const events, workers = 300, 4
	for i := int64(1); i <= events; i++ {
		b := testBooking()
		b.ID, b.Email = i, fmt.Sprintf("citizen%d@example.org", i)
		s.AddBooking(b)
		s.Add(mail.KindConfirmed, i, "", c.Now())
	}
	sender := &recordingSender{}
	runWorkers(t, workers, func() *mail.Worker {
		return newWorker(t, s, sender, c, func(cfg *mail.Config) { cfg.Batch = 7 })
	}, func() bool { return len(sender.messages()) >= events })
	seen := map[string]int{}
	for _, m := range sender.messages() {
		seen[m.ID]++
	}
	if len(sender.messages()) != events || len(seen) != events {
		t.Fatalf("%d sends of %d distinct messages, want %d each once", len(sender.messages()), len(seen), events)
	}
}

// runWorkers runs RunOnce in n goroutines until done reports true.
func runWorkers(t *testing.T, n int, newW func() *mail.Worker, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		w := newW()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !done() {
				if n, err := w.RunOnce(ctx); err != nil || n == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("workers did not finish in time")
	}
}

func subjects(ms []*mail.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 8: time.Hour, 50: time.Hour} {
		if got := mail.DefaultBackoff(attempt); got != want {
			t.Errorf("attempt %d: %s, want %s", attempt, got, want)
		}
	}
}

// Run keeps delivering until its context ends, also what arrives later.
func TestWorkerRun(t *testing.T) {
	c := startClock()
	s := newMemStore()
	s.AddBooking(testBooking())
	first := s.Add(mail.KindConfirmed, 7, "", c.Now())
	sender := &recordingSender{}
	w := newWorker(t, s, sender, c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		w.Run(ctx, 10*time.Millisecond)
		close(stopped)
	}()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(sender.messages()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d messages sent", len(sender.messages()), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(1)
	second := s.Add(mail.KindManageLink, 7, "en", c.Now())
	waitFor(2)
	cancel()
	<-stopped
	if s.Row(first).State != "done" || s.Row(second).State != "done" {
		t.Errorf("states %s, %s", s.Row(first).State, s.Row(second).State)
	}
}
