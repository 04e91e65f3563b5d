package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/server/config"
)

// runRotateSigningKey is `server rotate-signing-key`: it makes a new
// active QR signing key and retires the one before. The retired key goes
// on verifying: once every replica signs with the new key (after two
// TICKET_KEYS_RELOAD intervals), its end is fixed at the latest end of a
// booking made until then, plus the entrance's late grace; after that it
// is no longer sent to devices. The command waits for that moment and
// prints it; interrupted, the replicas fix it themselves.
func runRotateSigningKey(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	store := bookingpg.New(db)
	dropped, err := store.DropRetiredKeys(ctx, time.Now())
	if err != nil {
		return err
	}
	for _, id := range dropped {
		log.Info("dropped a signing key whose tickets are past", "key", id)
	}
	r, err := store.RotateSigningKey(ctx)
	if err != nil {
		return err
	}
	pickup := keyPickup(cfg)
	fmt.Printf("signing key %d is active; key %d is retired and verifies until its tickets are past\n", r.Active, r.Retired)
	fmt.Printf("waiting %s until every replica signs with key %d\n", pickup, r.Active)
	select {
	case <-ctx.Done():
		fmt.Println("interrupted: the replicas fix the retired key's end themselves")
		return nil
	case <-time.After(pickup + time.Second):
	}
	settled, err := store.SettleRetiredKeys(ctx, pickup, ticketLate(cfg))
	if err != nil {
		return err
	}
	if len(settled) == 0 {
		// A replica was quicker.
		keys, err := store.TicketKeys(ctx, time.Now())
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == r.Retired && !k.VerifyUntil.IsZero() {
				fmt.Printf("key %d verifies until %s\n", k.ID, k.VerifyUntil.Format(time.RFC3339))
			}
		}
		return nil
	}
	for _, s := range settled {
		fmt.Printf("key %d verifies until %s\n", s.ID, s.VerifyUntil.UTC().Format(time.RFC3339))
	}
	return nil
}
