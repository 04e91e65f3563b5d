package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
)

// Holders remembers the one live hold of each holder (a browser, or an
// API client as far as it can be told apart) at each location: one key
// per holder and location, "termin:holder:{holder}:location", so it works
// on a Redis Cluster like the day keys. It implements booking.HolderIndex.
type Holders struct {
	rdb goredis.UniversalClient
}

var _ booking.HolderIndex = (*Holders)(nil)

// NewHolders uses rdb.
func NewHolders(rdb goredis.UniversalClient) *Holders { return &Holders{rdb: rdb} }

func holderKey(holder, location string) string {
	return "termin:holder:{" + holder + "}:" + location
}

// Swap makes holdID the holder's hold at the location for ttl and returns
// the hold it replaced ("" when none): one SET … GET, so of two holds
// placed at once each learns of the other and exactly one stays.
func (h *Holders) Swap(ctx context.Context, holder, location, holdID string, ttl time.Duration) (string, error) {
	prev, err := h.rdb.Do(ctx, "SET", holderKey(holder, location), holdID, "PX", ttl.Milliseconds(), "GET").Text()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: swap holder's hold: %w", booking.ErrUnavailable, err)
	}
	return prev, nil
}

// Current returns the holder's hold at the location ("" when none).
func (h *Holders) Current(ctx context.Context, holder, location string) (string, error) {
	id, err := h.rdb.Get(ctx, holderKey(holder, location)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: read holder's hold: %w", booking.ErrUnavailable, err)
	}
	return id, nil
}
