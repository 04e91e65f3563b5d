// Package servicetest gives tests their own PostgreSQL database and Redis
// keyspace on the services `make test` starts (deploy/stack.sh): a single
// Redis (REDIS_ADDR) and a Redis Cluster (REDIS_CLUSTER_ADDRS). Without
// those services the tests skip, unless TERMIN_REQUIRE_SERVICES is set, as
// `make test` does, in which case they fail.
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/internal/migrate"
)

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("TERMIN_REQUIRE_SERVICES") != "" {
			t.Fatalf("%s is not set; run the tests with `make test`", name)
		}
		t.Skipf("%s not set; run `make test` for tests against PostgreSQL and Redis", name)
	}
	return v
}

// RandomID returns a short random lower-case id with a prefix, for
// locations and databases that must not collide between tests.
func RandomID(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DatabaseURL returns the URL of a fresh, migrated database that is dropped
// when the test ends.
func DatabaseURL(t testing.TB, components ...migrate.Component) string {
	t.Helper()
	base := need(t, "DATABASE_URL")
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	name := RandomID("test_")
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := migrate.Apply(ctx, db.DB, components...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return u.String()
}

// DB opens a fresh, migrated database.
func DB(t testing.TB, components ...migrate.Component) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", DatabaseURL(t, components...))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(50)
	t.Cleanup(func() { db.Close() })
	return db
}

// RedisAddrs returns the configured Redis address list.
func RedisAddrs(t testing.TB) []string {
	t.Helper()
	return strings.Split(need(t, "REDIS_ADDR"), ",")
}

// Redis returns a client on a Redis logical database of the test binary's
// own, so a test may FLUSHDB without disturbing tests of other packages
// running at the same time.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	addr := RedisAddrs(t)[0]
	ctx := context.Background()
	zero := redis.NewClient(&redis.Options{Addr: addr})
	defer zero.Close()
	n, err := zero.Incr(ctx, "servicetest:next-db").Result()
	if err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: int(1 + n%15), PoolSize: 64})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Backend names a Redis deployment tests run against.
type Backend string

// The Redis deployments of `make test`.
const (
	// SingleRedis is one redis-server; each test gets a logical database.
	SingleRedis Backend = "redis"
	// ClusterRedis is a three-master Redis Cluster. A cluster has only
	// database 0, so tests share it and keep apart by their random
	// location ids, which are part of every key.
	ClusterRedis Backend = "cluster"
)

// Backends lists every Redis deployment, for tests that run once on each.
var Backends = []Backend{SingleRedis, ClusterRedis}

// ClusterAddrs returns the addresses of the Redis Cluster's masters.
func ClusterAddrs(t testing.TB) []string {
	t.Helper()
	return strings.Split(need(t, "REDIS_CLUSTER_ADDRS"), ",")
}

// UniversalRedis returns a client on the given deployment: on a single
// Redis a logical database of the test's own (see Redis), on the cluster a
// ClusterClient that has found every master.
func UniversalRedis(t testing.TB, b Backend) redis.UniversalClient {
	t.Helper()
	switch b {
	case SingleRedis:
		return Redis(t)
	case ClusterRedis:
		addrs := ClusterAddrs(t)
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: 64})
		t.Cleanup(func() { rdb.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		}); err != nil {
			t.Fatalf("redis cluster at %v: %v", addrs, err)
		}
		return rdb
	}
	t.Fatalf("unknown redis backend %q", b)
	return nil
}

// Flush empties what rdb can see, as losing Redis would: FLUSHDB on a
// single Redis, FLUSHDB on every master of a cluster.
func Flush(ctx context.Context, rdb redis.UniversalClient) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.FlushDB(ctx).Err()
		})
	case *redis.Client:
		return c.FlushDB(ctx).Err()
	}
	return fmt.Errorf("flush: unsupported redis client %T", rdb)
}

// OnEachBackend runs f as subtests "redis" and "cluster", once on each
// Redis deployment: scripts must behave the same on both.
func OnEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) { f(t, b) })
	}
}

// Eventually calls cond until it reports true, and fails the test with
// what when it has not within timeout. It is the one polling helper of
// the service-backed tests.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
