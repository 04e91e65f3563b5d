package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// TestPostgresPrimaryKilledDuringRush: PostgreSQL runs as a primary with a
// synchronous hot standby (pg_basebackup, synchronous_standby_names); the
// server knows both through a multi-host connection string with
// target_session_attrs=read-write. During a rush the primary is killed
// and the standby promoted. Meanwhile the server answers 503 with
// Retry-After, then reconnects by itself; every booking answered 201 is
// on the new primary and no unit is given twice.
func TestPostgresPrimaryKilledDuringRush(t *testing.T) {
	if testing.Short() {
		t.Skip("failover: not in -short")
	}
	// Synchronous replication only protects commits that wait for it:
	// this stack runs with production durability.
	t.Setenv("STACK_DURABLE", "1")
	t.Setenv("STACK_NO_MAILPIT", "1")
	stack := startStack(t, "standby")
	multi := stack.env["DATABASE_URL_FAILOVER"]
	if multi == "" {
		t.Fatal("stack.sh standby wrote no DATABASE_URL_FAILOVER")
	}
	cfg, err := loadConfig([]string{"-db", multi})
	if err != nil {
		t.Fatal(err)
	}
	if err := runMigrate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	s := launch(t, serverSetup{dbURL: multi, redisAddrs: []string{stack.env["REDIS_ADDR"]}, pool: "stadtbad"})
	start := s.poolSlot(t)

	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := rush(rctx, []string{s.URL}, s.pool, start, 8)
	servicetest.Eventually(t, "bookings before the primary fails", 20*time.Second, func() bool { return res.count("book 201") >= 10 })

	before503 := res.count("book 503")
	stack.run("pg-kill")
	servicetest.Eventually(t, "503 while there is no primary", 20*time.Second, func() bool { return res.count("book 503") >= before503+3 })
	down := res.count("book 201")
	stack.run("pg-promote")
	servicetest.Eventually(t, "bookings on the promoted standby", 30*time.Second, func() bool { return res.count("book 201") >= down+10 })
	cancel()
	res.wait()

	t.Logf("statuses %v", res.statuses)
	checkBookings(t, stack.env["DATABASE_URL_STANDBY"], s.pool, 150, res)
	checkRebuilt(t, s, stack.env["DATABASE_URL_STANDBY"], start, 8+res.count("book 503"))
}

// TestRedisMasterKilledDuringRush: Redis Cluster runs three masters with a
// replica each; during a rush the master holding the pool's keys is
// killed and its replica takes over. Holds on the lost master may vanish
// (replication is asynchronous), but PostgreSQL's record keeps every unit
// to one booking: no unit is given twice and every booking answered 201
// is intact.
func TestRedisMasterKilledDuringRush(t *testing.T) {
	if testing.Short() {
		t.Skip("failover: not in -short")
	}
	t.Setenv("STACK_NO_MAILPIT", "1")
	stack := startStack(t, "cluster-ha")
	addrs := strings.Split(stack.env["REDIS_HA_ADDRS"], ",")
	if len(addrs) != 6 {
		t.Fatalf("REDIS_HA_ADDRS %q: want six nodes", stack.env["REDIS_HA_ADDRS"])
	}
	cfg, err := loadConfig([]string{"-db", stack.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	if err := runMigrate(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	s := launch(t, serverSetup{dbURL: stack.env["DATABASE_URL"], redisAddrs: addrs, pool: "stadtbad"})
	start := s.poolSlot(t)

	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := rush(rctx, []string{s.URL}, s.pool, start, 8)
	servicetest.Eventually(t, "bookings before the master fails", 20*time.Second, func() bool { return res.count("book 201") >= 10 })

	victim := busiestMaster(t, addrs)
	pid, err := os.ReadFile(filepath.Join(stack.dir, "cluster-ha", "n"+strconv.Itoa(victim+1), "redis.pid"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	down := res.count("book 201")
	servicetest.Eventually(t, "the replica takes over", 30*time.Second, func() bool { return clusterOK(addrs, victim) })
	servicetest.Eventually(t, "bookings after the failover", 30*time.Second, func() bool { return res.count("book 201") >= down+10 })
	cancel()
	res.wait()

	t.Logf("statuses %v", res.statuses)
	checkBookings(t, stack.env["DATABASE_URL"], s.pool, 150, res)
}

// busiestMaster returns the index of the master that holds the most keys:
// the one the rush's location lives on.
func busiestMaster(t *testing.T, addrs []string) int {
	t.Helper()
	best, most := -1, int64(-1)
	for i, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		info, _ := c.Info(context.Background(), "replication").Result()
		n, _ := c.DBSize(context.Background()).Result()
		c.Close()
		if strings.Contains(info, "role:master") && n > most {
			best, most = i, n
		}
	}
	if best < 0 {
		t.Fatal("no master found")
	}
	return best
}

// clusterOK reports whether every node but the killed one has marked it
// failed and sees the cluster whole again, its slots served by the
// promoted replica.
func clusterOK(addrs []string, killed int) bool {
	for i, a := range addrs {
		if i == killed {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: a})
		info, err := c.ClusterInfo(context.Background()).Result()
		nodes, err2 := c.ClusterNodes(context.Background()).Result()
		c.Close()
		if err != nil || err2 != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
		for _, line := range strings.Split(nodes, "\n") {
			if f := strings.Fields(line); len(f) > 2 && strings.HasPrefix(f[1], addrs[killed]+"@") && !strings.Contains(f[2], "fail") {
				return false
			}
		}
	}
	return true
}
