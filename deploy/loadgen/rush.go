package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/valyala/fasthttp"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitale-verwaltung/termin/server/fairness"
)

// rush is one run of many clients at one slot of one location-day.
type rush struct {
	name     string
	base     string // http://host:port
	location string
	service  string
	start    time.Time
	day      string
	clients  int
	attempts int
	readers  int
	// readEvery paces each reader, so reads are a steady load rather than
	// a second rush.
	readEvery time.Duration
	deadline  time.Duration
	http      *fasthttp.HostClient
}

// op collects the answers to one kind of request.
type op struct {
	lat    []time.Duration
	status map[int]int
	first  time.Time
	last   time.Time
}

func newOp() *op { return &op{status: map[int]int{}} }

func (o *op) add(start time.Time, d time.Duration, status int) {
	if o.first.IsZero() || start.Before(o.first) {
		o.first = start
	}
	if end := start.Add(d); end.After(o.last) {
		o.last = end
	}
	o.lat = append(o.lat, d)
	o.status[status]++
}

func (o *op) merge(p *op) {
	if p.first.IsZero() {
		return
	}
	if o.first.IsZero() || p.first.Before(o.first) {
		o.first = p.first
	}
	if p.last.After(o.last) {
		o.last = p.last
	}
	o.lat = append(o.lat, p.lat...)
	for k, v := range p.status {
		o.status[k] += v
	}
}

// stats summarises an op.
type stats struct {
	N          int           `json:"n"`
	Status     map[int]int   `json:"status"`
	PerSec     float64       `json:"per_sec"`
	P50        time.Duration `json:"p50"`
	P95        time.Duration `json:"p95"`
	P99        time.Duration `json:"p99"`
	Max        time.Duration `json:"max"`
	sortedLat  []time.Duration
	windowSecs float64
}

func (o *op) stats() stats {
	s := stats{N: len(o.lat), Status: o.status}
	if s.N == 0 {
		return s
	}
	lat := append([]time.Duration(nil), o.lat...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	s.P50, s.P95, s.P99, s.Max = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	s.windowSecs = o.last.Sub(o.first).Seconds()
	if s.windowSecs > 0 {
		s.PerSec = float64(s.N) / s.windowSecs
	}
	s.sortedLat = lat
	return s
}

type rushResult struct {
	Name     string
	Wall     time.Duration
	Hold     stats // every hold request, granted or refused
	Granted  int   // holds that got units
	Confirm  stats
	Read     stats
	Errors   int
	Deadline bool
}

type answer struct {
	status int
	body   []byte
}

func (r *rush) post(ctx context.Context, path string, body any) (answer, time.Time, time.Duration, error) {
	b, _ := json.Marshal(body)
	return r.do(ctx, "POST", path, b)
}

// do sends one request and reads the whole answer.
func (r *rush) do(ctx context.Context, method, path string, body []byte) (answer, time.Time, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return answer{}, time.Now(), 0, err
	}
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(r.base + path)
	req.Header.SetMethod(method)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	t0 := time.Now()
	// Do, not DoTimeout: the latter costs a goroutine and a timer per
	// request; the client's read and write timeouts bound a request.
	err := r.http.Do(req, res)
	d := time.Since(t0)
	if err != nil {
		return answer{}, t0, d, err
	}
	return answer{res.StatusCode(), append([]byte(nil), res.Body()...)}, t0, d, nil
}

// run sends attempts hold requests from clients concurrent clients; each
// granted hold is confirmed at once by the same client. Readers poll the
// day's availability meanwhile.
func (r *rush) run(ctx context.Context) rushResult {
	ctx, cancel := context.WithTimeout(ctx, r.deadline)
	defer cancel()
	var next atomic.Int64
	var granted, errs atomic.Int64
	holds, confirms, reads := newOp(), newOp(), newOp()
	var mu sync.Mutex
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := 0; c < r.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, cf := newOp(), newOp()
			defer func() {
				mu.Lock()
				holds.merge(h)
				confirms.merge(cf)
				mu.Unlock()
			}()
			holdBody, _ := json.Marshal(map[string]any{"location": r.location, "service": r.service, "start": r.start.Format(time.RFC3339)})
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(r.attempts) {
					return
				}
				a, start, d, err := r.do(ctx, "POST", "/api/v1/holds", holdBody)
				if a.status == http.StatusPreconditionRequired {
					holdReq := map[string]any{"location": r.location, "service": r.service, "start": r.start.Format(time.RFC3339)}
					// The server asks for a proof of work: solve one, as a
					// browser would, and send the hold again. The time to
					// solve counts towards the hold's latency.
					var pow powAnswer
					if pow, err = r.solve(ctx); err == nil {
						holdReq["pow"] = pow
						a, _, _, err = r.post(ctx, "/api/v1/holds", holdReq)
						d = time.Since(start)
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				h.add(start, d, a.status)
				if a.status != http.StatusCreated {
					continue
				}
				granted.Add(1)
				var hold struct{ ID string }
				json.Unmarshal(a.body, &hold)
				a, start, d, err = r.post(ctx, "/api/v1/bookings", map[string]string{
					"hold": hold.ID, "name": "Bench Client", "email": fmt.Sprintf("bench%d@example.org", n)})
				if err != nil {
					errs.Add(1)
					continue
				}
				cf.add(start, d, a.status)
			}
		}()
	}
	readCtx, stopReads := context.WithCancel(ctx)
	var rwg sync.WaitGroup
	q := url.Values{"location": {r.location}, "service": {r.service}, "from": {r.day}}
	for i := 0; i < r.readers; i++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rd := newOp()
			tick := time.NewTicker(r.readEvery)
			defer tick.Stop()
			for {
				select {
				case <-readCtx.Done():
					mu.Lock()
					reads.merge(rd)
					mu.Unlock()
					return
				case <-tick.C:
				}
				a, start, d, err := r.do(readCtx, "GET", "/api/v1/availability?"+q.Encode(), nil)
				if err != nil {
					if readCtx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				rd.add(start, d, a.status)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	stopReads()
	rwg.Wait()
	// Idle keep-alive connections would otherwise outlive the run and
	// meet the server's read timeout during the next one.
	r.http.CloseIdleConnections()
	return rushResult{
		Name: r.name, Wall: wall, Hold: holds.stats(), Granted: int(granted.Load()), Confirm: confirms.stats(),
		Read: reads.stats(), Errors: int(errs.Load()), Deadline: ctx.Err() != nil,
	}
}

type powAnswer struct {
	Challenge string `json:"challenge"`
	Solution  string `json:"solution"`
}

func (r *rush) solve(ctx context.Context) (powAnswer, error) {
	a, _, _, err := r.do(ctx, "GET", "/api/v1/challenge?location="+url.QueryEscape(r.location), nil)
	if err != nil {
		return powAnswer{}, err
	}
	var c fairness.Challenge
	if err := json.Unmarshal(a.body, &c); err != nil || c.Challenge == "" {
		return powAnswer{}, fmt.Errorf("challenge: %d %s", a.status, a.body)
	}
	return powAnswer{c.Challenge, fairness.Solve(c.Challenge, c.Difficulty)}, nil
}
