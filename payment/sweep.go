package payment

import (
	"context"
	"time"
)

// sweepLease is how long a claimed payment is left to the replica that
// claimed it before another may poll it.
const sweepLease = time.Minute

// Sweep polls the payments that are due: open ones until they are final or
// expired, expired ones until the late-payment window closes. Replicas
// claim payments for a lease (Store.ClaimPolls), so no two poll the same
// payment at once. It returns how many payments it looked at.
func (f *Flow) Sweep(ctx context.Context) (int, error) {
	now := f.now().UTC()
	refs, err := f.Store.ClaimPolls(ctx, now, now.Add(sweepLease))
	if err != nil {
		return 0, err
	}
	for _, ref := range refs {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		f.sweepOne(ctx, ref)
	}
	return len(refs), nil
}

func (f *Flow) sweepOne(ctx context.Context, ref string) {
	p, err := f.Check(ctx, ref)
	if p == nil {
		f.log().WarnContext(ctx, "sweep payment", "reference", ref, "err", err)
		return
	}
	now := f.now().UTC()
	failures := 0
	var next time.Time
	if err != nil {
		failures = p.PollFailures + 1
		next = now.Add(backoff(f.PollInterval, f.MaxPollInterval, failures))
		f.log().WarnContext(ctx, "payment status unavailable; retrying", "reference", ref, "failures", failures, "err", err)
		if (p.State == StateCreated || p.State == StateInitiated) && now.After(p.Deadline) {
			// The platform cannot tell us; the units must not stay blocked.
			// Polling goes on, so a payment made meanwhile is still found.
			if xerr := f.finish(ctx, ref, StateExpired, "not confirmed in time (platform status unavailable)"); xerr != nil {
				f.log().ErrorContext(ctx, "expire payment", "reference", ref, "err", xerr)
			}
		}
	} else {
		// Open payments are asked often at first, then less: most citizens
		// pay within minutes.
		gap := now.Sub(p.CreatedAt) / 4
		next = now.Add(clampDuration(gap, f.PollInterval, f.MaxPollInterval))
	}
	if err := f.Store.SchedulePoll(ctx, p.ID, next, failures); err != nil {
		f.log().WarnContext(ctx, "schedule payment poll", "reference", ref, "err", err)
	}
}

// backoff doubles base with every failure, up to max.
func backoff(base, max time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return clampDuration(d, base, max)
}

func clampDuration(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	if hi > 0 && d > hi {
		return hi
	}
	return d
}
