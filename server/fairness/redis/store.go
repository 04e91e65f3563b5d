// Package redis keeps the counters of package fairness in Redis, so the
// rate limit and the proof of work hold across any number of server
// replicas. Every script and command touches one key, so all of it runs
// unchanged on Redis Cluster:
//
//	rl:{client}:bucket            hash tokens, ts: a client's token bucket
//	pow:used:{location:day}:nonce a spent challenge, until it expires
//	pow:rate:{location:day}:win   hold requests of a location-day in one window
//	room:{location}:...           the waiting room (room.go)
//
// The location-day keys share the hash tag of the booking core's keys of
// that day, so they live on the same cluster node as the day they guard.
package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Store implements fairness.Store on Redis.
type Store struct {
	rdb goredis.UniversalClient
}

// New keeps the counters in rdb.
func New(rdb goredis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Preload loads the scripts so the first request under load does not miss.
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range scripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load fairness script: %w", err)
		}
	}
	return nil
}

// TakeToken implements fairness.Store. The clock is Redis's own, so
// replicas with skewed clocks share one fair bucket.
func (s *Store) TakeToken(ctx context.Context, client, bucket string, rate float64, burst int) (bool, time.Duration, error) {
	v, err := tokenBucketScript.Run(ctx, s.rdb, []string{"rl:{" + client + "}:" + bucket}, rate, burst, 1).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("token bucket: %w", err)
	}
	if len(v) != 2 {
		return false, 0, fmt.Errorf("token bucket reply %v", v)
	}
	return v[0] == 1, time.Duration(v[1]) * time.Millisecond, nil
}

// Spend implements fairness.Store.
func (s *Store) Spend(ctx context.Context, location, day, nonce string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, "pow:used:{"+location+":"+day+"}:"+nonce, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("spend challenge: %w", err)
	}
	return ok, nil
}

// CountHold implements fairness.Store.
func (s *Store) CountHold(ctx context.Context, location, day string, win int64, ttl time.Duration) (int64, error) {
	key := "pow:rate:{" + location + ":" + day + "}:" + strconv.FormatInt(win, 10)
	n, err := windowCountScript.Run(ctx, s.rdb, []string{key}, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("count holds: %w", err)
	}
	return n, nil
}
