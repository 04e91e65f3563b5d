// Command loadgen runs the booking rush benchmark (make bench, see
// deploy/bench.sh): many clients hold and confirm the units of one slot
// over real HTTP, against the server and against the PostgreSQL row-lock
// baseline (deploy/loadgen/pglock), next to redis-benchmark running the
// hold script itself as the ceiling. It checks in PostgreSQL that no unit
// was sold twice or beyond capacity, prints a table and writes
// docs/benchmarks.md with a latency plot.
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/valyala/fasthttp"
	"os"
	"strings"
	"time"
)

type options struct {
	ours, baseline      string
	oursDB, baselineDB  string
	redisAddr           string
	location, service   string
	capacity            int
	clients, attempts   int
	readers             int
	readEvery, deadline time.Duration
	pprofURL            string
	profileSecs         int
	outDir              string
	command             string
	pow                 bool
	// scenario picks what runs: the rush (default) or release, scenario
	// (c) (release.go).
	scenario string
	release  releaseOptions
	storm    stormOptions
}

func main() {
	// `loadgen soak`: the long steady mixed load of make soak (soak.go).
	if len(os.Args) > 1 && os.Args[1] == "soak" {
		os.Exit(soakMain(os.Args[2:]))
	}
	var o options
	flag.StringVar(&o.ours, "ours", "", "base URL of the server")
	flag.StringVar(&o.baseline, "baseline", "", "base URL of the pglock baseline; skipped when empty")
	flag.StringVar(&o.oursDB, "db", os.Getenv("DATABASE_URL"), "the server's PostgreSQL, for the oversold check")
	flag.StringVar(&o.baselineDB, "baseline-db", "", "the baseline's PostgreSQL")
	flag.StringVar(&o.redisAddr, "redis", os.Getenv("REDIS_ADDR"), "Redis for the redis-benchmark ceiling; skipped when empty")
	flag.StringVar(&o.location, "location", "rush-hall", "location of the rush")
	flag.StringVar(&o.service, "service", "rush-ticket", "service of the rush")
	flag.IntVar(&o.capacity, "capacity", 500, "units of the rush slot")
	flag.IntVar(&o.clients, "clients", 200, "concurrent clients")
	flag.IntVar(&o.attempts, "attempts", 20000, "hold attempts per run")
	flag.IntVar(&o.readers, "readers", 8, "clients polling availability during the rush")
	flag.DurationVar(&o.readEvery, "read-every", 20*time.Millisecond, "pause between one reader's polls")
	flag.DurationVar(&o.deadline, "deadline", 90*time.Second, "longest a run may take")
	flag.StringVar(&o.pprofURL, "pprof", "", "the server's pprof base URL; a CPU profile of its run is taken when set")
	flag.IntVar(&o.profileSecs, "profile-seconds", 3, "length of the CPU profile; keep it within the hold rush, or idle time dilutes it")
	flag.StringVar(&o.outDir, "out", "", "directory for benchmarks.md and bench-latency.png; nothing written when empty")
	flag.StringVar(&o.command, "command", "make bench", "the command named in the report")
	flag.BoolVar(&o.pow, "pow", true, "solve proof-of-work challenges when the server asks for them")
	releaseFlags(&o)
	var steps string
	flag.IntVar(&o.storm.readers, "storm-readers", 2000, "scenario (b): simulated citizens reading availability on an open-loop schedule")
	flag.IntVar(&o.storm.rate, "storm-rate", 20000, "scenario (b): reads per second offered in total; 0 skips the storm")
	flag.DurationVar(&o.storm.duration, "storm-duration", 10*time.Second, "scenario (b): how long reads are due")
	flag.StringVar(&steps, "storm-steps", "5000,10000,15000,20000,25000,30000,40000", "scenario (b): offered rates of the step search for the highest rate with read p99 ≤ 50 ms; empty: no search")
	flag.DurationVar(&o.storm.stepSecs, "storm-step", 4*time.Second, "scenario (b): length of one step of the search")
	flag.Parse()
	var err error
	if o.storm.steps, err = parseRates(steps); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if o.ours == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -ours is required")
		os.Exit(2)
	}
	run := bench
	if o.scenario == "release" {
		run = benchRelease
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func newRush(o options, name, base string, start time.Time, day string) *rush {
	return &rush{
		name: name, base: strings.TrimRight(base, "/"), location: o.location, service: o.service,
		start: start, day: day, clients: o.clients, attempts: o.attempts, readers: o.readers,
		readEvery: o.readEvery, deadline: o.deadline,
		// fasthttp's client costs a fraction of net/http's CPU per
		// request; the load generator shares the cores with what it
		// measures, so every cycle it saves goes to the servers.
		http: &fasthttp.HostClient{
			Addr:                strings.TrimPrefix(strings.TrimRight(base, "/"), "http://"),
			MaxConns:            o.clients + o.readers + 8,
			MaxIdleConnDuration: time.Minute,
			ReadTimeout:         30 * time.Second,
			WriteTimeout:        30 * time.Second,
		},
	}
}

func bench(ctx context.Context, o options) error {
	start, day, err := rushSlot(ctx, o)
	if err != nil {
		return err
	}
	rep := report{Options: o, Start: start, Day: day, Machine: machine(), When: time.Now().UTC()}
	if o.redisAddr != "" {
		fmt.Fprintln(os.Stderr, "loadgen: redis-benchmark EVALSHA of the hold script ...")
		rep.Ceiling, err = ceiling(ctx, o)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "loadgen: rush against the server (%d clients, %d attempts, %d units) ...\n", o.clients, o.attempts, o.capacity)
	var prof chan profileResult
	if o.pprofURL != "" {
		prof = make(chan profileResult, 1)
		go func() { prof <- takeProfile(ctx, o) }()
	}
	rep.Ours = newRush(o, "termin (Redis holds)", o.ours, start, day).run(ctx)
	rep.OursCheck, err = checkOurs(ctx, o, start)
	if err != nil {
		return fmt.Errorf("oversold check: %w", err)
	}
	if prof != nil {
		rep.Profile = <-prof
	}
	if err := runStorm(ctx, o, &rep); err != nil {
		return err
	}
	if o.baseline != "" {
		fmt.Fprintln(os.Stderr, "loadgen: rush against the PostgreSQL row-lock baseline ...")
		r := newRush(o, "baseline (PostgreSQL row lock)", o.baseline, start, day)
		res := r.run(ctx)
		rep.Baseline = &res
		check, err := checkBaseline(ctx, o)
		if err != nil {
			return fmt.Errorf("baseline oversold check: %w", err)
		}
		rep.BaselineCheck = &check
	}
	fmt.Println(rep.table())
	if o.outDir == "" {
		return nil
	}
	if err := os.WriteFile(o.outDir+"/bench-latency.png", plotLatency(rep), 0o644); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	if err := os.WriteFile(o.outDir+"/benchmarks.md", []byte(rep.markdown()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "loadgen: wrote %s/benchmarks.md and %s/bench-latency.png\n", o.outDir, o.outDir)
	return nil
}
