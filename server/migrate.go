package main

import (
	"context"
	"log/slog"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/config"
)

// components lists every package's migrations in dependency order.
var components = []migrate.Component{booking.Migrations, payment.Migrations}

// runMigrate is `server migrate`: it applies the database migrations.
func runMigrate(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrate.Apply(ctx, db.DB, components...)
}
