package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
)

// rushSlot finds tomorrow's slot of the bench location on the server and
// checks that it is untouched, so the oversold check has a clean start.
func rushSlot(ctx context.Context, o options) (time.Time, string, error) { return slotIn(ctx, o, 1) }

// slotIn is rushSlot for the day days after today.
func slotIn(ctx context.Context, o options, days int) (time.Time, string, error) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.Time{}, "", err
	}
	day := time.Now().In(berlin).AddDate(0, 0, days).Format(time.DateOnly)
	q := url.Values{"location": {o.location}, "service": {o.service}, "from": {day}}
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(o.ours, "/")+"/api/v1/availability?"+q.Encode(), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("availability: %w", err)
	}
	defer res.Body.Close()
	var av struct {
		Slots []struct {
			Start time.Time `json:"start"`
			Free  int       `json:"free"`
		} `json:"slots"`
	}
	if err := json.NewDecoder(res.Body).Decode(&av); err != nil || len(av.Slots) == 0 {
		return time.Time{}, "", fmt.Errorf("no slot of %s on %s (status %d, %v); seed deploy/loadgen/benchcity.json", o.location, day, res.StatusCode, err)
	}
	if av.Slots[0].Free != o.capacity {
		return time.Time{}, "", fmt.Errorf("the slot has %d free units, not %d: run on a fresh database", av.Slots[0].Free, o.capacity)
	}
	return av.Slots[0].Start, day, nil
}

// ceilingResult is redis-benchmark running the hold script by EVALSHA.
type ceilingResult struct {
	Command string
	RPS     float64
	P50     string
	P99     string
}

// ceiling runs the real hold script against a location-day of its own
// with the rush's shape: capacity units, one grid cell, one unit a hold,
// random hold ids. The first holds take units, the rest find the slot
// full, as in the HTTP rush.
func ceiling(ctx context.Context, o options) (ceilingResult, error) {
	host, port, err := net.SplitHostPort(o.redisAddr)
	if err != nil {
		return ceilingResult{}, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: o.redisAddr})
	defer rdb.Close()
	if err := bookingredis.New(rdb).Preload(ctx); err != nil {
		return ceilingResult{}, err
	}
	tag := fmt.Sprintf("{bench-ceiling:%d}", time.Now().UnixNano())
	keys := []string{tag + ":units", tag + ":holds", tag + ":exp", tag + ":meta"}
	if err := rdb.HSet(ctx, keys[3], "loaded", 1).Err(); err != nil {
		return ceilingResult{}, err
	}
	defer rdb.Del(context.Background(), keys...)
	now := time.Now()
	args := []string{"-h", host, "-p", port, "-c", strconv.Itoa(o.clients), "-n", "100000", "-r", "1000000000", "--csv",
		"EVALSHA", bookingredis.HoldScriptHash(), "4", keys[0], keys[1], keys[2], keys[3],
		strconv.FormatInt(now.UnixMilli(), 10), "bench.__rand_int__", strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10),
		strconv.Itoa(o.capacity), "0", "1", "1", "7200", `{"s":"rush-ticket","t":0,"n":0}`}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(cctx, "redis-benchmark", args...).Output()
	if err != nil {
		return ceilingResult{}, fmt.Errorf("redis-benchmark: %w", err)
	}
	// redis-benchmark does not escape the quotes of the record argument in
	// its CSV, so the figures are read from the end of the line.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return ceilingResult{}, fmt.Errorf("redis-benchmark output %q", out)
	}
	head := strings.Split(strings.ReplaceAll(lines[0], `"`, ""), ",")
	vals := strings.Split(strings.ReplaceAll(lines[1], `"`, ""), ",")
	if len(vals) < len(head) {
		return ceilingResult{}, fmt.Errorf("redis-benchmark output %q", out)
	}
	vals = vals[len(vals)-len(head)+1:]
	r := ceilingResult{Command: "redis-benchmark " + strings.Join(args[4:], " ")}
	for i, h := range head[1:] {
		switch h {
		case "rps":
			r.RPS, err = strconv.ParseFloat(vals[i], 64)
			if err != nil {
				return r, fmt.Errorf("redis-benchmark rps %q: %w", vals[i], err)
			}
		case "p50_latency_ms":
			r.P50 = vals[i] + " ms"
		case "p99_latency_ms":
			r.P99 = vals[i] + " ms"
		}
	}
	// A full slot is what most of the rush meets; make sure the script
	// really ran to the end and filled it.
	held, err := rdb.HLen(ctx, keys[1]).Result()
	if err != nil || int(held) != o.capacity {
		return r, fmt.Errorf("after redis-benchmark %d holds are live, want %d (%v)", held, o.capacity, err)
	}
	return r, nil
}

// check is what PostgreSQL, the record, says after a run.
type check struct {
	Bookings    int // booking rows of the slot
	Units       int // units they occupy
	Oversold    int // units beyond capacity or given twice
	Unconfirmed int // 201 answers to confirms without a booking row, or the reverse
}

func checkOurs(ctx context.Context, o options, start time.Time) (check, error) {
	db, err := sqlx.Open("postgres", o.oursDB)
	if err != nil {
		return check{}, err
	}
	defer db.Close()
	var c check
	var distinct, beyond int
	err = db.QueryRowContext(ctx, `
		SELECT count(*), count(DISTINCT unit), count(*) FILTER (WHERE unit >= $3)
		FROM booking_units WHERE location_id = $1 AND cell_start = $2`, o.location, start, o.capacity).Scan(&c.Units, &distinct, &beyond)
	if err != nil {
		return c, err
	}
	if err := db.GetContext(ctx, &c.Bookings, `SELECT count(*) FROM bookings WHERE location_id = $1 AND start_at = $2 AND status <> 'cancelled'`,
		o.location, start); err != nil {
		return c, err
	}
	c.Oversold = max(0, c.Units-o.capacity) + (c.Units - distinct) + beyond
	return c, nil
}

func checkBaseline(ctx context.Context, o options) (check, error) {
	db, err := sqlx.Open("postgres", o.baselineDB)
	if err != nil {
		return check{}, err
	}
	defer db.Close()
	var c check
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(units), 0) FROM pl_bookings WHERE location_id = $1`,
		o.location).Scan(&c.Bookings, &c.Units); err != nil {
		return c, err
	}
	c.Oversold = max(0, c.Units-o.capacity)
	return c, nil
}

type machineInfo struct {
	Cores   int
	CPU     string
	OS      string
	Go      string
	LoadAvg string
}

func machine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), CPU: "unknown", OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

type profileResult struct {
	Top string
	Err error
}

// takeProfile records the server's CPU while the rush runs and keeps the
// hottest functions.
func takeProfile(ctx context.Context, o options) profileResult {
	u := strings.TrimRight(o.pprofURL, "/") + "/debug/pprof/profile?seconds=" + strconv.Itoa(o.profileSecs)
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	res, err := (&http.Client{Timeout: time.Duration(o.profileSecs+30) * time.Second}).Do(req)
	if err != nil {
		return profileResult{Err: err}
	}
	defer res.Body.Close()
	dir, err := os.MkdirTemp("", "termin-profile")
	if err != nil {
		return profileResult{Err: err}
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return profileResult{Err: err}
	}
	_, err = io.Copy(f, res.Body)
	f.Close()
	if err != nil {
		return profileResult{Err: err}
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", path).CombinedOutput()
	if err != nil {
		return profileResult{Err: fmt.Errorf("go tool pprof: %w: %s", err, out)}
	}
	return profileResult{Top: string(out)}
}
