package main

import (
	"context"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/fairness"
	"github.com/digitale-verwaltung/termin/server/metrics"
)

// newMetrics instruments the server's stores: Redis errors and both
// pools, the record's vitals read at every scrape, and the waiting rooms.
func newMetrics(d *deps, room *fairness.Room) *metrics.Metrics {
	m := metrics.New()
	d.rdb.AddHook(m.RedisHook())
	m.Pools(d.db.DB, d.rdb)
	rec := &metrics.Record{Booking: d.pg.Vitals, Log: d.log}
	if d.pay.store != nil {
		stuck := d.cfg.Pay.Timeout + d.cfg.Pay.LateGrace
		rec.Payment = func(ctx context.Context, now time.Time) (payment.Vitals, error) {
			return d.pay.store.Vitals(ctx, now, stuck)
		}
	}
	rec.WaitingRooms = func(ctx context.Context) (map[string]int, error) {
		var ids []string
		for _, l := range d.engine.Locations() {
			ids = append(ids, l.ID)
		}
		return room.Lengths(ctx, ids)
	}
	m.Register(rec)
	return m
}
