package main

import (
	"context"
	"time"

	"github.com/lib/pq"

	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
)

// catalogPoll is how often a replica compares the catalog version when no
// NOTIFY arrived (the listener's connection may be down).
const catalogPoll = time.Second

// watchCatalog reloads this replica's catalog whenever the catalog
// version in PostgreSQL changes, until ctx ends: at once on the NOTIFY
// that the changing transaction sends, and by a cheap version poll every
// catalogPoll in case a notification was lost. Availability follows by
// itself: opening hours, closures and the booking window are the
// engine's, and a location whose capacity or slot length changed keeps
// its days under new hold-store keys that load from PostgreSQL.
func watchCatalog(ctx context.Context, d *deps) {
	listener := pq.NewListener(d.cfg.DatabaseURL, time.Second, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil && ctx.Err() == nil {
			d.log.Warn("catalog listener", "event", int(ev), "err", err)
		}
	})
	defer listener.Close()
	if err := listener.Listen(bookingpg.CatalogChannel); err != nil {
		d.log.Warn("listen for catalog changes; polling only", "err", err)
	}
	seen, err := d.pg.CatalogVersion(ctx)
	if err != nil {
		d.log.Warn("catalog version", "err", err)
	}
	tick := time.NewTicker(catalogPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-listener.Notify:
		case <-tick.C:
		}
		v, err := d.pg.CatalogVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("catalog version", "err", err)
			}
			continue
		}
		if v == seen {
			continue
		}
		if err := d.engine.Reload(ctx); err != nil {
			d.log.Warn("reload the catalog", "err", err)
			continue
		}
		seen = v
		d.log.Info("catalog reloaded", "version", v)
	}
}
