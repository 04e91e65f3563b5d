package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The storm is open-loop: reads are sent when due even while earlier
// ones are still unanswered, and a read's latency counts from when it was
// due.
func TestStormIsOpenLoop(t *testing.T) {
	var arrived atomic.Int64
	var firstSecond atomic.Int64
	t0 := time.Now()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		if time.Since(t0) < 1100*time.Millisecond {
			firstSecond.Add(1)
		}
		time.Sleep(300 * time.Millisecond) // far slower than the 100 ms period
		w.Write([]byte(`{"slots":[]}`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	o := options{location: "x", service: "y"}
	res := storm(context.Background(), "http://"+ln.Addr().String(), o, "2030-01-07", 10, 100, time.Second)
	if res.Offered != 100 || res.Served != 100 {
		t.Fatalf("offered %d, served %d; want 100 each", res.Offered, res.Served)
	}
	// A closed loop of 10 readers would have sent about 10 / 0.3 s = 33
	// reads in the first second; the open loop sends every one due.
	if n := firstSecond.Load(); n < 90 {
		t.Errorf("%d reads arrived in the first second, want the ~100 due then", n)
	}
	if res.Read.P50 < 300*time.Millisecond {
		t.Errorf("p50 %s is below the server's own 300 ms", res.Read.P50)
	}
}

func TestStormReport(t *testing.T) {
	steps := []stormStep{
		{5000, stormResult{Offered: 100, Served: 100, Read: stats{P99: 10 * time.Millisecond}}},
		{10000, stormResult{Offered: 100, Served: 100, Read: stats{P99: 40 * time.Millisecond}}},
		{20000, stormResult{Offered: 100, Served: 99, Read: stats{P99: 45 * time.Millisecond}}},
	}
	if got := highestWithinTarget(steps); got != 10000 {
		t.Errorf("highest within target %d, want 10000 (20000 left a read unserved)", got)
	}
	st := stormResult{Offered: 200000, Served: 200000, OfferedRate: 20000, Read: stats{P99: 30 * time.Millisecond}}
	r := report{Options: options{location: "rush-hall", storm: stormOptions{readers: 2000, rate: 20000, duration: 10 * time.Second, stepSecs: 4 * time.Second}},
		Storm: &st, StormSteps: steps, StormDay: "2030-01-09"}
	md := r.stormMarkdown()
	for _, want := range []string{"## (b) Search storm during the rush", "2000 simulated citizens", "**10000 reads/s**", "| the storm's 20000 offered reads/s all served | 200000 / 200000 | met |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if rates, err := parseRates("5000, 10000,20000"); err != nil || len(rates) != 3 || rates[2] != 20000 {
		t.Errorf("parseRates: %v %v", rates, err)
	}
	if _, err := parseRates("5000,x"); err == nil {
		t.Error("parseRates accepted x")
	}
}
