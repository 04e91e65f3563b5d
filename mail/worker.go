package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config of the outbox worker. Zero durations and counts take the
// defaults named on each field.
type Config struct {
	// From and BaseURL: see Composer (MAIL_FROM, PUBLIC_BASE_URL).
	From    string
	BaseURL string
	// Lease is how long a claim keeps other workers off an event
	// (default 2 minutes). A send must finish well within it.
	Lease time.Duration
	// SendTimeout bounds one send (default 30 seconds, at most half the
	// lease).
	SendTimeout time.Duration
	// Batch is the number of events claimed at once (default 20).
	Batch int
	// MaxAttempts: an event that failed this often is dead (default 10).
	MaxAttempts int
	// Backoff is the wait before attempt n+1 after attempt n failed
	// (default 30s·2^(n-1), at most 1 hour).
	Backoff func(attempt int) time.Duration
	// Now is the worker's clock (default time.Now).
	Now func() time.Time
}

// Worker delivers booking events as e-mails. Several workers (one per
// server replica) may run against one store: each event is claimed under a
// lease, and a worker sends only while its lease still has a send timeout
// left, so no event is sent twice while the lease holds.
type Worker struct {
	events   Events
	bookings Bookings
	sender   Sender
	composer *Composer
	cfg      Config
	log      *slog.Logger
}

// NewWorker checks the config and fills in its defaults.
func NewWorker(events Events, bookings Bookings, sender Sender, cfg Config, log *slog.Logger) (*Worker, error) {
	if events == nil || bookings == nil || sender == nil {
		return nil, errors.New("mail worker: events, bookings and sender are required")
	}
	composer, err := NewComposer(cfg.From, cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("mail worker: %w", err)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.SendTimeout > cfg.Lease/2 {
		cfg.SendTimeout = cfg.Lease / 2
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	composer.Now = cfg.Now
	if log == nil {
		log = slog.Default()
	}
	return &Worker{events: events, bookings: bookings, sender: sender, composer: composer, cfg: cfg, log: log}, nil
}

// DefaultBackoff waits 30 s after the first failure and doubles up to an
// hour.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Run delivers events every interval until ctx ends. A full batch is
// followed by the next one at once.
func (w *Worker) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("mail outbox", "err", err)
				}
				break
			}
			if n < w.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Outcome of one event in a run.
type Outcome string

const (
	OutcomeSent    Outcome = "sent"
	OutcomeSkipped Outcome = "skipped" // nothing to send any more (reminder of a cancelled booking)
	OutcomeRetry   Outcome = "retry"
	OutcomeDead    Outcome = "dead"
	OutcomeLost    Outcome = "lease_lost" // left for the worker that holds it now
)

// RunOnce claims one batch and handles every event of it. It returns the
// number of events claimed; the error is the claim's (one event's failure
// is recorded on the event, not returned).
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	evs, err := w.events.ClaimEvents(ctx, w.cfg.Now(), w.cfg.Batch, w.cfg.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim booking events: %w", err)
	}
	for _, ev := range evs {
		if ctx.Err() != nil {
			// The remaining claims run out and are taken again later.
			return len(evs), ctx.Err()
		}
		outcome := w.Handle(ctx, ev)
		w.log.Info("mail event", "event", ev.ID, "kind", ev.Kind, "attempt", ev.Attempt, "outcome", string(outcome))
	}
	return len(evs), nil
}

// Handle delivers one claimed event and records the result in the store.
func (w *Worker) Handle(ctx context.Context, ev Event) Outcome {
	b, err := w.bookings.MailBooking(ctx, ev.BookingID)
	if errors.Is(err, ErrNoBooking) {
		return w.dead(ctx, ev, "booking not found")
	}
	if err != nil {
		return w.retry(ctx, ev, fmt.Errorf("read booking: %w", err))
	}
	now := w.cfg.Now()
	if skip(ev, b, now) {
		return w.finish(ctx, ev, OutcomeSkipped)
	}
	msg, err := w.composer.Compose(ev, b)
	if err != nil {
		return w.dead(ctx, ev, err.Error())
	}
	// Send only while the lease outlasts the send: after it another
	// worker may claim the event and send it too.
	deadline := ev.LeaseUntil.Add(-w.cfg.SendTimeout / 2)
	if !ev.LeaseUntil.IsZero() && now.Add(w.cfg.SendTimeout).After(deadline) {
		return OutcomeLost
	}
	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	err = w.sender.Send(sendCtx, msg)
	cancel()
	if errors.Is(err, ErrRejected) {
		return w.dead(ctx, ev, err.Error())
	}
	if err != nil {
		return w.retry(ctx, ev, err)
	}
	return w.finish(ctx, ev, OutcomeSent)
}

// skip says whether an event has nothing left to say: a reminder of a
// booking that is no longer confirmed or has begun, an activation request
// of a booking that is no longer waiting for it. A manage link goes out
// whatever the state: the page tells a cancelled booking's owner so.
func skip(ev Event, b Booking, now time.Time) bool {
	switch ev.Kind {
	case KindReminder:
		return b.Status != StatusConfirmed || !b.Start.After(now)
	case KindActivationRequested:
		return b.Status != StatusPendingActivation
	}
	return false
}

func (w *Worker) finish(ctx context.Context, ev Event, outcome Outcome) Outcome {
	if err := w.events.EventDone(ctx, ev, w.cfg.Now()); err != nil {
		return w.storeFailed(ev, "done", err)
	}
	return outcome
}

func (w *Worker) retry(ctx context.Context, ev Event, cause error) Outcome {
	if ev.Attempt >= w.cfg.MaxAttempts {
		return w.dead(ctx, ev, fmt.Sprintf("gave up after %d attempts: %v", ev.Attempt, cause))
	}
	next := w.cfg.Now().Add(w.cfg.Backoff(ev.Attempt))
	if err := w.events.EventFailed(ctx, ev, next, cause.Error()); err != nil {
		return w.storeFailed(ev, "failed", err)
	}
	return OutcomeRetry
}

func (w *Worker) dead(ctx context.Context, ev Event, reason string) Outcome {
	if err := w.events.EventDead(ctx, ev, w.cfg.Now(), reason); err != nil {
		return w.storeFailed(ev, "dead", err)
	}
	w.log.Warn("mail event dead", "event", ev.ID, "kind", ev.Kind, "reason", reason)
	return OutcomeDead
}

// storeFailed: the result could not be recorded. With a lost lease the
// event belongs to another worker now; otherwise the lease runs out and
// the event is taken again (at least once).
func (w *Worker) storeFailed(ev Event, what string, err error) Outcome {
	if errors.Is(err, ErrLeaseLost) {
		w.log.Warn("mail event lease lost", "event", ev.ID, "record", what)
		return OutcomeLost
	}
	w.log.Warn("mail event not recorded", "event", ev.ID, "record", what, "err", err)
	return OutcomeRetry
}
