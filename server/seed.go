package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/payment"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/server/config"
)

//go:embed democity.json
var demoCity []byte

//go:embed demoaccounting.json
var demoAccounting []byte

// runSeed is `server seed`: it loads the city file (the demo city when
// none is configured) and its accounting.
func runSeed(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	city, closeCity, err := openOr(cfg.CityFile, demoCity, "city file")
	if err != nil {
		return err
	}
	defer closeCity()
	if err := booking.LoadCity(ctx, bookingpg.New(db), city); err != nil {
		return err
	}
	if cfg.Staff.DemoAccounts {
		if err := seedDemoAccounts(ctx, newAccounts(cfg, db), os.Stdout); err != nil {
			return err
		}
	}
	if cfg.Pay.AccountingFile == "" && cfg.CityFile != "" {
		return nil // a city of its own brings its own accounting
	}
	accounting, closeAccounting, err := openOr(cfg.Pay.AccountingFile, demoAccounting, "accounting file")
	if err != nil {
		return err
	}
	defer closeAccounting()
	list, err := payment.ParseAccounting(accounting)
	if err != nil {
		return err
	}
	return paymentpg.New(db).SaveAccounting(ctx, list)
}

// openOr opens the named file, or reads builtin when name is empty.
func openOr(name string, builtin []byte, what string) (io.Reader, func(), error) {
	if name == "" {
		return bytes.NewReader(builtin), func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return f, func() { f.Close() }, nil
}
