package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// retention is the data-protection job on the booking record: every
// replica runs it, one at a time holds its lease.
func (d *deps) retention() *booking.Retention {
	return &booking.Retention{Store: d.pg, After: time.Duration(d.cfg.RetentionDays) * 24 * time.Hour,
		Every: d.cfg.RetentionEvery, Log: d.log}
}

// runRetention is one round of the data-protection job.
func runRetention(ctx context.Context, r *booking.Retention, log *slog.Logger) {
	n, err := r.RunOnce(ctx)
	switch {
	case err != nil:
		log.Warn("retention", "err", err)
	case n > 0:
		log.Info("anonymised bookings past their retention", "count", n)
	}
}
