package main

import (
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// retention is the data-protection job on the booking record: every
// replica runs it, one at a time holds its lease.
func (d *deps) retention() *booking.Retention {
	return &booking.Retention{Store: d.pg, After: time.Duration(d.cfg.RetentionDays) * 24 * time.Hour,
		Every: d.cfg.RetentionEvery, Log: d.log}
}
