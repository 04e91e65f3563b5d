package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Scenario (b), the search storm: many citizens refresh a day's
// availability while a rush holds and books on it. The readers run on an
// open-loop schedule: each citizen's next read is due a fixed period after
// the last was due, whether or not its answer has come, so a slow server
// meets the same offered load instead of a politely waiting client (and a
// read's latency counts from when it was due, not from when it could be
// sent). The storm is bounded in count (rate × duration reads) and in time
// (duration plus a drain for the answers still out).

// stormOptions shape the storm.
type stormOptions struct {
	readers  int           // simulated citizens
	rate     int           // reads per second offered, all citizens together
	duration time.Duration // how long reads are due
	// steps are the offered rates of the step search for the highest
	// rate at which read p99 stays within stormTargetP99 (storm alone,
	// stepSecs each); none: no search.
	steps    []int
	stepSecs time.Duration
}

const (
	stormTargetP99 = 50 * time.Millisecond
	// stormDrain is how long answers still out are waited for after the
	// last read was due; reads not answered by then count as not served.
	stormDrain = 5 * time.Second
)

// stormResult is one storm: what was offered and what came back.
type stormResult struct {
	Offered     int     // reads due
	OfferedRate float64 // reads per second offered
	Read        stats   // answered reads, latency from when each was due
	Served      int     // answered 200
	Errors      int     // transport errors and reads not answered in time
}

// allServed reports whether every read that was due was answered 200.
func (s stormResult) allServed() bool { return s.Offered > 0 && s.Served == s.Offered }

// stormStep is one rate of the step search.
type stormStep struct {
	Rate   int
	Result stormResult
}

// storm runs the readers against base for d, reading day at the rush's
// location and service.
func storm(ctx context.Context, base string, o options, day string, readers, rate int, d time.Duration) stormResult {
	base = strings.TrimRight(base, "/")
	client := &fasthttp.HostClient{
		Addr: strings.TrimPrefix(base, "http://"),
		// Up to six connections per citizen, as a phone's browser opens
		// to one host: a read due while the last is still out goes on a
		// connection of its own, so a slow server still meets the offered
		// load. Waiting for a connection beyond that counts in the
		// latency, which runs from when the read was due.
		MaxConns:            6 * readers,
		MaxConnWaitTimeout:  stormDrain,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         10 * time.Second,
		WriteTimeout:        10 * time.Second,
	}
	defer client.CloseIdleConnections()
	q := url.Values{"location": {o.location}, "service": {o.service}, "from": {day}}
	uri := base + "/api/v1/availability?" + q.Encode()
	period := time.Duration(float64(time.Second) * float64(readers) / float64(rate))
	perReader := int(d / period)
	if perReader < 1 {
		perReader = 1
	}
	res := stormResult{Offered: readers * perReader}
	res.OfferedRate = float64(res.Offered) / d.Seconds()
	reads := newOp()
	var mu sync.Mutex
	var errs, served atomic.Int64
	var inflight sync.WaitGroup
	t0 := time.Now().Add(50 * time.Millisecond)
	stop := t0.Add(d + stormDrain)
	ctx, cancel := context.WithDeadline(ctx, stop)
	defer cancel()
	var sched sync.WaitGroup
	for c := 0; c < readers; c++ {
		sched.Add(1)
		// Citizens start at random phases, so the reads spread over the
		// period instead of arriving in lockstep.
		phase := time.Duration(rand.Int64N(int64(period)))
		go func() {
			defer sched.Done()
			for k := 0; k < perReader; k++ {
				due := t0.Add(phase + time.Duration(k)*period)
				if w := time.Until(due); w > 0 {
					select {
					case <-time.After(w):
					case <-ctx.Done():
						errs.Add(int64(perReader - k))
						return
					}
				}
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
					defer fasthttp.ReleaseRequest(req)
					defer fasthttp.ReleaseResponse(resp)
					req.SetRequestURI(uri)
					err := client.DoDeadline(req, resp, stop)
					lat := time.Since(due)
					if err != nil {
						errs.Add(1)
						return
					}
					if resp.StatusCode() == 200 {
						served.Add(1)
					}
					mu.Lock()
					reads.add(due, lat, resp.StatusCode())
					mu.Unlock()
				}()
			}
		}()
	}
	sched.Wait()
	inflight.Wait()
	res.Read, res.Served, res.Errors = reads.stats(), int(served.Load()), int(errs.Load())
	// Throughput over the offered span, so a slow drain shows as fewer
	// reads per second rather than as a longer window.
	res.Read.PerSec = float64(res.Read.N) / d.Seconds()
	return res
}

// stormDuringRush is scenario (b): the rush of scenario (a) once more, on
// the slot of the day after, with the storm reading that day meanwhile.
func stormDuringRush(ctx context.Context, o options, start time.Time, day string) (rushResult, check, stormResult, error) {
	var rush rushResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := newRush(o, "termin, rush during the search storm", o.ours, start, day)
		r.readers = 0 // the storm is the readers
		rush = r.run(ctx)
	}()
	st := storm(ctx, o.ours, o, day, o.storm.readers, o.storm.rate, o.storm.duration)
	<-done
	chk, err := checkOurs(ctx, o, start)
	return rush, chk, st, err
}

// stormSearch offers rising rates, storm alone, and stops after the first
// whose read p99 is over the target or that leaves reads unserved.
func stormSearch(ctx context.Context, o options, day string) []stormStep {
	var steps []stormStep
	for _, rate := range o.storm.steps {
		fmt.Fprintf(os.Stderr, "loadgen: storm step at %d reads/s ...\n", rate)
		res := storm(ctx, o.ours, o, day, o.storm.readers, rate, o.storm.stepSecs)
		steps = append(steps, stormStep{Rate: rate, Result: res})
		if res.Read.P99 > stormTargetP99 || !res.allServed() {
			break
		}
	}
	return steps
}

// highestWithinTarget is the highest offered rate of the search whose
// reads were all served within the p99 target; 0 when none was.
func highestWithinTarget(steps []stormStep) int {
	best := 0
	for _, s := range steps {
		if s.Result.allServed() && s.Result.Read.P99 <= stormTargetP99 && s.Rate > best {
			best = s.Rate
		}
	}
	return best
}

// parseRates reads "2000,5000,10000".
func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil || n < 1 {
			return nil, fmt.Errorf("storm step %q is not a positive rate", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// stormMarkdown is scenario (b)'s part of the report.
func (r report) stormMarkdown() string {
	if r.Storm == nil {
		return ""
	}
	o := r.Options
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	st := r.Storm
	p("## (b) Search storm during the rush\n\n")
	p("%d simulated citizens read the availability of the rush day (`GET /api/v1/availability`,\n", o.storm.readers)
	p("location `%s`, %s) on an open-loop schedule — each citizen's next read is due %s after\n", o.location, r.StormDay, time.Duration(float64(time.Second)*float64(o.storm.readers)/float64(o.storm.rate)).Round(time.Millisecond))
	p("its last was due, answered or not — %d reads/s offered in total for %s (%d reads), while the rush\n", o.storm.rate, o.storm.duration, st.Offered)
	p("of (a) runs once more on that day's slot (%s). A read's latency counts from when it was due;\n", r.StormStart.Format(time.RFC3339))
	p("reads still unanswered %s after the last was due count as not served. Availability comes\n", stormDrain)
	p("from the server's per-location-day snapshot (`-availability-snapshot`, 250 ms by default).\n\n")
	p("| | offered reads/s | served (200) / offered | reads/s answered | read p50 / p95 / p99 | errors |\n|---|---|---|---|---|---|\n")
	p("| storm | %.0f | %d / %d | %.0f | %s / %s / %s | %d |\n\n", st.OfferedRate, st.Served, st.Offered, st.Read.PerSec,
		ms(st.Read.P50), ms(st.Read.P95), ms(st.Read.P99), st.Errors)
	rs := r.StormRush
	p("The rush meanwhile: %.0f holds/s, %d / %d granted, hold p99 %s, confirm p99 %s, %d oversold.\n\n",
		rs.Hold.PerSec, rs.Granted, rs.Hold.N, ms(rs.Hold.P99), ms(rs.Confirm.P99), r.StormCheck.Oversold)
	if len(r.StormSteps) > 0 {
		p("**Step search** (the storm alone, %s per step, %d citizens): the highest offered rate at which\n", o.storm.stepSecs, o.storm.readers)
		p("every read was served with p99 ≤ %s.\n\n", ms(stormTargetP99))
		p("| offered reads/s | served / offered | read p50 / p99 | within target |\n|---|---|---|---|\n")
		for _, s := range r.StormSteps {
			p("| %d | %d / %d | %s / %s | %s |\n", s.Rate, s.Result.Served, s.Result.Offered, ms(s.Result.Read.P50), ms(s.Result.Read.P99),
				met(s.Result.allServed() && s.Result.Read.P99 <= stormTargetP99))
		}
		p("\nHighest rate within the target: **%d reads/s**.\n\n", highestWithinTarget(r.StormSteps))
	}
	p("| target (2 cores) | measured | |\n|---|---|---|\n")
	p("| the storm's %d offered reads/s all served | %d / %d | %s |\n", o.storm.rate, st.Served, st.Offered, met(st.allServed()))
	p("| read p99 ≤ %s during the rush | %s | %s |\n", ms(stormTargetP99), ms(st.Read.P99), met(st.Read.P99 <= stormTargetP99))
	p("| oversold units = 0 in the rush of (b) | %d | %s |\n\n", r.StormCheck.Oversold, met(r.StormCheck.Oversold == 0))
	return b.String()
}

// runStorm runs scenario (b) and its step search into rep.
func runStorm(ctx context.Context, o options, rep *report) error {
	if o.storm.rate <= 0 || o.storm.readers <= 0 {
		return nil
	}
	start, day, err := slotIn(ctx, o, 2)
	if err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	fmt.Fprintf(os.Stderr, "loadgen: search storm (%d citizens, %d reads/s for %s) during a rush on %s ...\n",
		o.storm.readers, o.storm.rate, o.storm.duration, day)
	rush, chk, st, err := stormDuringRush(ctx, o, start, day)
	if err != nil {
		return fmt.Errorf("storm oversold check: %w", err)
	}
	rep.Storm, rep.StormRush, rep.StormCheck, rep.StormDay, rep.StormStart = &st, rush, chk, day, start
	rep.StormSteps = stormSearch(ctx, o, day)
	return nil
}
