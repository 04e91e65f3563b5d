package main

import (
	"context"
	"log/slog"

	accountpg "github.com/digitale-verwaltung/termin/account/postgres"
	auditpg "github.com/digitale-verwaltung/termin/audit/postgres"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/server/config"
)

// components lists every package's migrations in dependency order.
var components = []migrate.Component{bookingpg.Migrations, paymentpg.Migrations, accountpg.Migrations, auditpg.Migrations}

// runMigrate is `server migrate`: it applies the database migrations.
func runMigrate(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrate.Apply(ctx, db.DB, components...)
}
