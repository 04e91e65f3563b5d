package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

func TestTokenBucketRefills(t *testing.T) {
	rdb := servicetest.Redis(t)
	ctx := context.Background()
	l := fairness.NewLimiter(New(rdb), []byte("k"), 20, 1)
	client := servicetest.RandomID("client-")
	if ok, _, _ := l.Allow(ctx, "holds", client); !ok {
		t.Fatal("first request limited")
	}
	ok, wait, _ := l.Allow(ctx, "holds", client)
	if ok || wait <= 0 || wait > 50*time.Millisecond {
		t.Fatalf("second request: ok=%v wait=%v", ok, wait)
	}
	time.Sleep(wait + 10*time.Millisecond)
	if ok, _, _ := l.Allow(ctx, "holds", client); !ok {
		t.Fatal("not refilled after the wait it named")
	}
}

// The bucket lives in Redis, so replicas (here: limiters with clients of
// their own) share it: together they let exactly the burst through.
func TestTokenBucketAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	shared := servicetest.Redis(t).Options()
	client := servicetest.RandomID("203.0.113.")
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rdb := goredis.NewClient(&goredis.Options{Addr: shared.Addr, DB: shared.DB})
		t.Cleanup(func() { rdb.Close() })
		l := fairness.NewLimiter(New(rdb), []byte("shared"), 0.001, 25)
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					ok, _, err := l.Allow(ctx, "holds", client)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						allowed.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	if n := allowed.Load(); n != 25 {
		t.Fatalf("allowed %d", n)
	}
}

// A challenge is spent once, whichever replica sees it.
func TestSpendOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	shared := servicetest.Redis(t).Options()
	day := servicetest.RandomID("2030-01-")
	var spent atomic.Int64
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rdb := goredis.NewClient(&goredis.Options{Addr: shared.Addr, DB: shared.DB})
		t.Cleanup(func() { rdb.Close() })
		s := New(rdb)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Spend(ctx, "stadtbad", day, "nonce", time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				spent.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := spent.Load(); n != 1 {
		t.Fatalf("spent %d times", n)
	}
}

func TestCountHoldPerDayAndWindow(t *testing.T) {
	ctx := context.Background()
	s := New(servicetest.Redis(t))
	if err := s.Preload(ctx); err != nil {
		t.Fatal(err)
	}
	loc := servicetest.RandomID("loc-")
	for i := int64(1); i <= 3; i++ {
		if n, err := s.CountHold(ctx, loc, "2030-01-02", 7, time.Minute); err != nil || n != i {
			t.Fatalf("count %d: %d %v", i, n, err)
		}
	}
	for _, other := range []struct {
		day string
		win int64
	}{{"2030-01-03", 7}, {"2030-01-02", 8}} {
		if n, _ := s.CountHold(ctx, loc, other.day, other.win, time.Minute); n != 1 {
			t.Fatalf("%s window %d counted %d", other.day, other.win, n)
		}
	}
}

func TestUnavailable(t *testing.T) {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	c := fairness.NewChallenges(New(rdb), []byte("k"))
	c.AutoThreshold = 1
	if _, err := c.Required(context.Background(), "stadtbad", "2030-01-02"); !errors.Is(err, fairness.ErrUnavailable) {
		t.Fatalf("redis gone: %v", err)
	}
}
