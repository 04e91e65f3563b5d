package booking

import (
	"context"
	"log/slog"
	"time"
)

// Anonymiser removes the personal data of bookings whose appointment
// ended before a cutoff, a batch at a time (booking/postgres).
type Anonymiser interface {
	AnonymiseEnded(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// Retention is the data-protection job: a booking's name, e-mail address
// and phone number go After its appointment ended (DSGVO Art. 5(1)(e));
// the anonymised booking stays for statistics and the postings.
type Retention struct {
	Store Anonymiser
	After time.Duration
	Every time.Duration
	Batch int
	Now   func() time.Time
	Log   *slog.Logger
}

// RunOnce anonymises every booking that is due, batch by batch, and
// returns how many.
func (r *Retention) RunOnce(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 500
	}
	cutoff := r.now().Add(-r.After)
	total := 0
	for {
		n, err := r.Store.AnonymiseEnded(ctx, cutoff, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// Run repeats RunOnce every r.Every until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		n, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("retention", "err", err)
		case n > 0:
			r.Log.Info("anonymised bookings past their retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Retention) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
