package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	"github.com/digitale-verwaltung/termin/server/config"
)

// ticketKeyring holds the QR signing keys of PostgreSQL in memory and
// reads them again every reload interval: a key made by
// `server rotate-signing-key` signs on every replica within about one
// interval, without a restart, and a retired key stops verifying once its
// tickets are past.
type ticketKeyring struct {
	store  *bookingpg.Store
	every  time.Duration
	pickup time.Duration
	late   time.Duration
	log    *slog.Logger

	mu   sync.RWMutex
	keys booking.TicketKeys
}

// keyPickup is how long after a rotation every replica is taken to sign
// with the new key: two reload intervals and some slack.
func keyPickup(cfg config.Config) time.Duration { return 2*cfg.TicketKeysReload + 5*time.Second }

// ticketLate is the longest grace after a slot during which a device
// still accepts its ticket: a retired key verifies that much longer.
func ticketLate(cfg config.Config) time.Duration { return max(cfg.GateLate, cfg.CheckInLate) }

func newTicketKeyring(ctx context.Context, cfg config.Config, store *bookingpg.Store, log *slog.Logger) (*ticketKeyring, error) {
	k := &ticketKeyring{store: store, every: cfg.TicketKeysReload, pickup: keyPickup(cfg), late: ticketLate(cfg), log: log}
	return k, k.reload(ctx)
}

func (k *ticketKeyring) reload(ctx context.Context) error {
	// Fix the end of keys retired long enough ago; any replica may.
	settled, err := k.store.SettleRetiredKeys(ctx, k.pickup, k.late)
	if err != nil {
		return err
	}
	for _, s := range settled {
		k.log.Info("retired signing key settled", "key", s.ID, "verify_until", s.VerifyUntil)
	}
	keys, err := k.store.TicketKeys(ctx, time.Now())
	if err != nil {
		return err
	}
	k.mu.Lock()
	prev := k.keys
	k.keys = keys
	k.mu.Unlock()
	if a, _ := keys.Active(); len(prev) > 0 {
		if p, _ := prev.Active(); p.ID != a.ID {
			k.log.Info("signing key changed", "active", a.ID, "previous", p.ID)
		}
	}
	return nil
}

// Keys returns the keys as last read.
func (k *ticketKeyring) Keys() booking.TicketKeys {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

// SignTicket signs with the active key.
func (k *ticketKeyring) SignTicket(c booking.TicketClaims) string { return k.Keys().Sign(c) }

// round reads the keys again, a worker round every TICKET_KEYS_RELOAD; a
// failed read keeps the keys of before.
func (k *ticketKeyring) round(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := k.reload(rctx); err != nil {
		k.log.Warn("reload signing keys", "err", err)
	}
	return false
}
