package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// TestBookingOnRedisCluster configures the server the way a city with a
// Redis Cluster does, with several addresses in -redis, and books through
// it over HTTP.
func TestBookingOnRedisCluster(t *testing.T) {
	s := launch(t, serverSetup{
		dbURL:      servicetest.DatabaseURL(t, components...),
		redisAddrs: servicetest.ClusterAddrs(t),
		pool:       servicetest.RandomID("stadtbad-"),
	})
	cluster, ok := s.deps.rdb.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("several -redis addresses gave a %T, want a cluster client", s.deps.rdb)
	}
	start := s.poolSlot(t)
	hold := `{"location":"` + s.pool + `","service":"erwachsene","start":"` + start + `","units":2}`
	var res response
	// The booking tests flush the whole cluster to play Redis loss, which
	// may take a hold of ours with it; a lost hold is an allowed outcome
	// (the citizen holds again), a lost booking is not.
	for attempt := 0; attempt < 3; attempt++ {
		res = s.do(t, "POST", "/api/v1/holds", hold)
		if res.Status != 201 {
			t.Fatalf("hold: %d %s", res.Status, res.Body)
		}
		var h struct{ ID string }
		res.decode(t, &h)
		res = s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+h.ID+`","name":"Erika Mustermann","email":"erika@example.org"}`)
		if res.Status != 410 {
			break
		}
	}
	if res.Status != 201 {
		t.Fatalf("booking: %d %s", res.Status, res.Body)
	}
	var b struct {
		Code        string
		ManageToken string `json:"manage_token"`
	}
	res.decode(t, &b)
	if got := s.free(t, start); got != 148 {
		t.Fatalf("%d free after booking 2 of 150, want 148", got)
	}

	// The location-day lives on one master of the cluster, all its keys
	// in one hash slot.
	startT, _ := time.Parse(time.RFC3339, start)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tag := fmt.Sprintf("{%s:%s}", s.pool, booking.DateOf(startT.In(berlin)))
	ctx := context.Background()
	var slots []int64
	for _, k := range []string{":units", ":holds", ":exp", ":meta"} {
		n, err := cluster.ClusterKeySlot(ctx, tag+k).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots = append(slots, n)
	}
	for _, n := range slots[1:] {
		if n != slots[0] {
			t.Fatalf("keys of %s in hash slots %v, want one", tag, slots)
		}
	}
	if n, err := cluster.Exists(ctx, tag+":units", tag+":meta").Result(); err != nil || n != 2 {
		t.Fatalf("%s keys on the cluster: %d %v", tag, n, err)
	}

	if res := s.do(t, "DELETE", "/api/v1/bookings/"+b.Code, "", "Authorization", "Bearer "+b.ManageToken); res.Status != 200 {
		t.Fatalf("cancel: %d %s", res.Status, res.Body)
	}
	if got := s.free(t, start); got != 150 {
		t.Fatalf("%d free after cancelling, want 150", got)
	}
	if res := s.do(t, "GET", "/readyz", ""); res.Status != 200 {
		t.Fatalf("readyz on the cluster: %d %s", res.Status, res.Body)
	}
}

// free returns the free units of the pool slot at start (RFC 3339).
func (s *testServer) free(t *testing.T, start string) int {
	t.Helper()
	startT, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := startT.In(berlin).Format(time.DateOnly)
	res := s.do(t, "GET", "/api/v1/availability?location="+s.pool+"&service=erwachsene&from="+day, "")
	if res.Status != 200 {
		t.Fatalf("availability: %d %s", res.Status, res.Body)
	}
	var av struct{ Slots []booking.Slot }
	res.decode(t, &av)
	for _, sl := range av.Slots {
		if sl.Start.Equal(startT) {
			return sl.Free
		}
	}
	t.Fatalf("no slot at %s", start)
	return 0
}
