package fairness

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// ErrUnavailable wraps the store's failures; callers decide whether to
// fail open.
var ErrUnavailable = errors.New("fairness store unavailable")

// Store keeps the counters where every replica sees them (package
// fairness/redis). It returns its own errors; this package wraps them in
// ErrUnavailable.
type Store interface {
	// TakeToken takes a token from the bucket named bucket of client (a
	// keyed hash), refilled at rate tokens per second up to burst. When
	// the bucket is empty it reports false and how long until a token is
	// back.
	TakeToken(ctx context.Context, client, bucket string, rate float64, burst int) (bool, time.Duration, error)
	// Spend marks the nonce of a challenge used at a location-day for ttl;
	// false when it already was.
	Spend(ctx context.Context, location, day, nonce string, ttl time.Duration) (bool, error)
	// CountHold counts a hold request at a location-day in the window
	// numbered win, kept for ttl, and returns the window's count.
	CountHold(ctx context.Context, location, day string, win int64, ttl time.Duration) (int64, error)
}

// Limiter is a token bucket per client and bucket name (one per guarded
// endpoint) in the store. A zero Rate switches it off.
type Limiter struct {
	store Store
	key   []byte
	// Rate is how many requests per second a client may make in the long
	// run; Burst how many it may make at once after a quiet spell.
	Rate  float64
	Burst int
}

// NewLimiter keys client addresses with key before they reach the store.
func NewLimiter(store Store, key []byte, rate float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{store: store, key: key, Rate: rate, Burst: burst}
}

// Enabled reports whether the limiter limits anything.
func (l *Limiter) Enabled() bool { return l != nil && l.Rate > 0 }

// Allow takes a token from the client's bucket. When the bucket is empty it
// returns false and how long until a token is back.
func (l *Limiter) Allow(ctx context.Context, bucket, client string) (bool, time.Duration, error) {
	if !l.Enabled() {
		return true, 0, nil
	}
	ok, wait, err := l.store.TakeToken(ctx, l.clientID(client), bucket, l.Rate, l.Burst)
	if err != nil {
		return false, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return ok, wait, nil
}

// clientID turns an address into the bucket's name: a keyed hash, so Redis
// never holds addresses. IPv6 clients are grouped by their /64, the
// smallest network a provider hands out; otherwise every host could spend
// a fresh bucket per address.
func (l *Limiter) clientID(client string) string { return ClientKey(l.key, client) }

// ClientKey is the keyed hash that stands for a client address (IPv6 by
// its /64) wherever a rule counts per client, so no store holds
// addresses.
func ClientKey(key []byte, client string) string {
	if a, err := netip.ParseAddr(client); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64)
			client = p.String()
		} else {
			client = a.String()
		}
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(client))
	return hex.EncodeToString(m.Sum(nil)[:12])
}
