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

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable wraps Redis failures; callers decide whether to fail open.
var ErrUnavailable = errors.New("fairness store unavailable")

// Limiter is a token bucket per client and bucket name (one per guarded
// endpoint) in Redis. A zero Rate switches it off.
type Limiter struct {
	rdb redis.UniversalClient
	key []byte
	// Rate is how many requests per second a client may make in the long
	// run; Burst how many it may make at once after a quiet spell.
	Rate  float64
	Burst int
}

// NewLimiter keys client addresses with key before they reach Redis.
func NewLimiter(rdb redis.UniversalClient, key []byte, rate float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rdb: rdb, key: key, Rate: rate, Burst: burst}
}

// Enabled reports whether the limiter limits anything.
func (l *Limiter) Enabled() bool { return l != nil && l.Rate > 0 }

// Allow takes a token from the client's bucket. When the bucket is empty it
// returns false and how long until a token is back.
func (l *Limiter) Allow(ctx context.Context, bucket, client string) (bool, time.Duration, error) {
	if !l.Enabled() {
		return true, 0, nil
	}
	key := "rl:{" + l.clientID(client) + "}:" + bucket
	v, err := tokenBucketScript.Run(ctx, l.rdb, []string{key}, l.Rate, l.Burst, 1).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("%w: token bucket: %w", ErrUnavailable, err)
	}
	if len(v) != 2 {
		return false, 0, fmt.Errorf("%w: token bucket reply %v", ErrUnavailable, v)
	}
	return v[0] == 1, time.Duration(v[1]) * time.Millisecond, nil
}

// clientID turns an address into the bucket's name: a keyed hash, so Redis
// never holds addresses. IPv6 clients are grouped by their /64, the
// smallest network a provider hands out; otherwise every host could spend
// a fresh bucket per address.
func (l *Limiter) clientID(client string) string {
	if a, err := netip.ParseAddr(client); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64)
			client = p.String()
		} else {
			client = a.String()
		}
	}
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(client))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// Preload loads the scripts so the first request under load does not miss.
func Preload(ctx context.Context, rdb redis.UniversalClient) error {
	for _, s := range scripts {
		if err := s.Load(ctx, rdb).Err(); err != nil {
			return fmt.Errorf("load fairness script: %w", err)
		}
	}
	return nil
}
