package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/valyala/fasthttp"

	"github.com/digitale-verwaltung/termin/server/fairness"
)

// Scenario (c), a release: arrivals spread around the release time of a
// location with a waiting room (deploy/bench.sh starts a server with one
// for it). Each arrival is one browser (its own termin_browser id): it
// takes a place in the room with a solved proof of work, asks for its
// place as often as the server says, and once admitted holds a time with
// its admission token and books it. Some arrivals also probe the gate:
// a hold without a token, with a forged one and with another browser's.

type releaseOptions struct {
	location, service string
	arrivals          int
	spread            time.Duration
	conns             int
	probeEvery        int
	rate              float64
	capacity          int
	deadline          time.Duration
	powBits           int
}

// releaseArrival is what one browser saw.
type releaseArrival struct {
	planned            time.Time
	early              bool
	arrival, number    int64
	joinedAt, admitted time.Time
	ok                 bool // admitted
	booked             bool
}

type releaseResult struct {
	Opens         time.Time
	Wall          time.Duration
	Arrivals      []releaseArrival
	Join, Poll    stats
	Hold, Confirm stats
	Errors        int
	Deadline      bool
	// Probes are holds without a valid admission; ProbesGranted of
	// them got a hold (must be 0).
	Probes, ProbesGranted int
	ProbeStatus           map[int]int
	Check                 releaseCheck
	Order                 orderCheck
	Solve                 time.Duration // CPU time of all proofs of work, summed
}

type releaseCheck struct {
	Bookings, Units, Oversold int
}

// orderCheck sums up the admission order.
type orderCheck struct {
	Early, Late, Admitted int
	// EarlyBeforeLate: every early arrival was admitted before every late one.
	EarlyBeforeLate bool
	// LateInversions counts late arrivals admitted before one that came earlier.
	LateInversions int
	// Spearman is the rank correlation of the early arrivals' arrival and
	// admission order; Z = ρ·√(n−1) is about standard normal for a
	// uniformly random order.
	Spearman, Z float64
	// Rate is the measured admissions per second while the backlog of
	// the opening (every early arrival) drained.
	Rate float64
	// Wait is the time to admission: from the opening for early arrivals,
	// from joining for late ones.
	EarlyP50, EarlyP99, LateP50, LateP99 time.Duration
}

type releaseClient struct {
	base string
	http *fasthttp.HostClient
}

func (c *releaseClient) do(ctx context.Context, method, path string, body []byte, header ...string) (answer, time.Time, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return answer{}, time.Now(), 0, err
	}
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(c.base + path)
	req.Header.SetMethod(method)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	t0 := time.Now()
	err := c.http.Do(req, res)
	d := time.Since(t0)
	if err != nil {
		return answer{}, t0, d, err
	}
	return answer{res.StatusCode(), append([]byte(nil), res.Body()...)}, t0, d, nil
}

func browserID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type roomAnswer struct {
	Opens     time.Time          `json:"opens_at"`
	Phase     string             `json:"phase"`
	Challenge fairness.Challenge `json:"challenge"`
}

type positionAnswer struct {
	State      string    `json:"state"`
	Arrival    int64     `json:"arrival"`
	Early      bool      `json:"early"`
	JoinedAt   time.Time `json:"joined_at"`
	RetryAfter int       `json:"retry_after_seconds"`
	Number     int64     `json:"admission_number"`
	AdmittedAt time.Time `json:"admitted_at"`
	Token      string    `json:"admission_token"`
}

// runRelease runs scenario (c) against the server at base.
func runRelease(ctx context.Context, base string, o releaseOptions, db string) (releaseResult, error) {
	c := &releaseClient{base: strings.TrimRight(base, "/"), http: &fasthttp.HostClient{
		Addr: strings.TrimPrefix(strings.TrimRight(base, "/"), "http://"), MaxConns: o.conns,
		// Twenty thousand browsers share these connections: a request
		// waits for one rather than failing.
		MaxConnWaitTimeout: 2 * time.Minute, MaxIdleConnDuration: time.Minute,
		ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second,
	}}
	defer c.http.CloseIdleConnections()
	a, _, _, err := c.do(ctx, "GET", "/api/v1/waiting-rooms/"+url.PathEscape(o.location), nil)
	if err != nil {
		return releaseResult{}, fmt.Errorf("waiting room: %w", err)
	}
	var room roomAnswer
	if a.status != 200 || json.Unmarshal(a.body, &room) != nil {
		return releaseResult{}, fmt.Errorf("no waiting room at %s (%d %s): start the server with -waiting-room-locations and -waiting-room-releases", o.location, a.status, a.body)
	}
	slots, err := releaseSlots(ctx, c, o)
	if err != nil {
		return releaseResult{}, err
	}
	res := releaseResult{Opens: room.Opens, Arrivals: make([]releaseArrival, o.arrivals), ProbeStatus: map[int]int{}}
	ctx, cancel := context.WithDeadline(ctx, room.Opens.Add(o.spread/2+o.deadline))
	defer cancel()
	first := room.Opens.Add(-o.spread / 2)
	join, poll, holds, confirms := newOp(), newOp(), newOp(), newOp()
	var mu sync.Mutex
	var errs, probes, granted atomic.Int64
	var solveNs atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range res.Arrivals {
		wg.Add(1)
		planned := first.Add(time.Duration((float64(i) + 0.5) / float64(o.arrivals) * float64(o.spread)))
		go func(i int, planned time.Time) {
			defer wg.Done()
			ar := &res.Arrivals[i]
			ar.planned = planned
			select {
			case <-time.After(time.Until(planned)):
			case <-ctx.Done():
				return
			}
			j, p, h, cf := newOp(), newOp(), newOp(), newOp()
			defer func() {
				mu.Lock()
				join.merge(j)
				poll.merge(p)
				holds.merge(h)
				confirms.merge(cf)
				mu.Unlock()
			}()
			id := browserID()
			cookie := []string{"Cookie", "termin_browser=" + id}
			probe := o.probeEvery > 0 && i%o.probeEvery == 0
			holdBody := func(slot int) []byte {
				b, _ := json.Marshal(map[string]any{"location": o.location, "service": o.service, "start": slots[slot%len(slots)].Format(time.RFC3339)})
				return b
			}
			probeHold := func(header ...string) {
				a, _, _, err := c.do(ctx, "POST", "/api/v1/holds", holdBody(i), header...)
				if err != nil {
					errs.Add(1)
					return
				}
				probes.Add(1)
				mu.Lock()
				res.ProbeStatus[a.status]++
				mu.Unlock()
				if a.status == 201 {
					granted.Add(1)
				}
			}
			if probe {
				probeHold(cookie...)
			}
			a, _, _, err := c.do(ctx, "GET", "/api/v1/waiting-rooms/"+url.PathEscape(o.location), nil, cookie...)
			var rm roomAnswer
			if err != nil || a.status != 200 || json.Unmarshal(a.body, &rm) != nil {
				errs.Add(1)
				return
			}
			s0 := time.Now()
			sol := fairness.Solve(rm.Challenge.Challenge, rm.Challenge.Difficulty)
			solveNs.Add(int64(time.Since(s0)))
			body, _ := json.Marshal(map[string]any{"pow": map[string]string{"challenge": rm.Challenge.Challenge, "solution": sol}})
			a, st, d, err := c.do(ctx, "POST", "/api/v1/waiting-rooms/"+url.PathEscape(o.location)+"/position", body, cookie...)
			if err != nil {
				errs.Add(1)
				return
			}
			j.add(st, d, a.status)
			var pos positionAnswer
			if a.status != 201 || json.Unmarshal(a.body, &pos) != nil {
				return
			}
			ar.early, ar.arrival, ar.joinedAt = pos.Early, pos.Arrival, pos.JoinedAt
			for pos.State != "admitted" {
				wait := time.Duration(max(1, pos.RetryAfter)) * time.Second
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
				a, st, d, err := c.do(ctx, "GET", "/api/v1/waiting-rooms/"+url.PathEscape(o.location)+"/position", nil, cookie...)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				p.add(st, d, a.status)
				if a.status != 200 || json.Unmarshal(a.body, &pos) != nil || pos.State == "expired" {
					return
				}
			}
			ar.ok, ar.number, ar.admitted = true, pos.Number, pos.AdmittedAt
			if probe {
				forged := pos.Token[:len(pos.Token)-2] + "AA"
				if strings.HasSuffix(pos.Token, "AA") {
					forged = pos.Token[:len(pos.Token)-2] + "BB"
				}
				probeHold(append([]string{"Admission-Token", forged}, cookie...)...)
				probeHold("Admission-Token", pos.Token, "Cookie", "termin_browser="+browserID())
			}
			// Hold a time with the admission; a full slot sends on to the next.
			for try := 0; try < 3; try++ {
				a, st, d, err := c.do(ctx, "POST", "/api/v1/holds", holdBody(i+try), append([]string{"Admission-Token", pos.Token}, cookie...)...)
				if err != nil {
					errs.Add(1)
					return
				}
				h.add(st, d, a.status)
				if a.status != 201 {
					continue
				}
				var hold struct{ ID string }
				json.Unmarshal(a.body, &hold)
				b, _ := json.Marshal(map[string]string{"hold": hold.ID, "name": "Release Bench", "email": fmt.Sprintf("release%d@example.org", i)})
				a, st, d, err = c.do(ctx, "POST", "/api/v1/bookings", b)
				if err != nil {
					errs.Add(1)
					return
				}
				cf.add(st, d, a.status)
				ar.booked = a.status == 201
				return
			}
		}(i, planned)
	}
	wg.Wait()
	res.Wall = time.Since(t0)
	res.Deadline = ctx.Err() != nil
	res.Join, res.Poll, res.Hold, res.Confirm = join.stats(), poll.stats(), holds.stats(), confirms.stats()
	res.Errors, res.Probes, res.ProbesGranted = int(errs.Load()), int(probes.Load()), int(granted.Load())
	res.Solve = time.Duration(solveNs.Load())
	res.Order = checkOrder(res.Arrivals, room.Opens)
	res.Check, err = checkRelease(context.Background(), db, o)
	return res, err
}

// releaseSlots lists tomorrow's starts of the release location.
func releaseSlots(ctx context.Context, c *releaseClient, o releaseOptions) ([]time.Time, error) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, err
	}
	day := time.Now().In(berlin).AddDate(0, 0, 1).Format(time.DateOnly)
	q := url.Values{"location": {o.location}, "service": {o.service}, "from": {day}}
	a, _, _, err := c.do(ctx, "GET", "/api/v1/availability?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var av struct {
		Slots []struct {
			Start time.Time `json:"start"`
			Free  int       `json:"free"`
		} `json:"slots"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &av) != nil || len(av.Slots) == 0 {
		return nil, fmt.Errorf("no slots of %s on %s (%d %s); seed deploy/loadgen/benchcity.json", o.location, day, a.status, a.body)
	}
	var out []time.Time
	for _, s := range av.Slots {
		if s.Free != o.capacity {
			return nil, fmt.Errorf("slot %s of %s has %d free units, not %d: run on a fresh database", s.Start, o.location, s.Free, o.capacity)
		}
		out = append(out, s.Start)
	}
	return out, nil
}

// checkOrder checks the admission order against the rules: every early
// arrival before every late one, late ones in arrival order, early ones
// in no relation to their arrival.
func checkOrder(arrivals []releaseArrival, opens time.Time) orderCheck {
	var early, late []releaseArrival
	for _, a := range arrivals {
		if !a.ok {
			continue
		}
		if a.early {
			early = append(early, a)
		} else {
			late = append(late, a)
		}
	}
	o := orderCheck{Early: len(early), Late: len(late), Admitted: len(early) + len(late), EarlyBeforeLate: true}
	maxEarly := int64(0)
	for _, a := range early {
		maxEarly = max(maxEarly, a.number)
	}
	for _, a := range late {
		if a.number < maxEarly {
			o.EarlyBeforeLate = false
		}
	}
	sort.Slice(late, func(i, j int) bool { return late[i].arrival < late[j].arrival })
	for i := 1; i < len(late); i++ {
		if late[i].number < late[i-1].number {
			o.LateInversions++
		}
	}
	if n := len(early); n > 2 {
		byArrival := append([]releaseArrival(nil), early...)
		sort.Slice(byArrival, func(i, j int) bool { return byArrival[i].arrival < byArrival[j].arrival })
		rankArrival := map[int64]int{}
		for r, a := range byArrival {
			rankArrival[a.arrival] = r
		}
		byNumber := append([]releaseArrival(nil), early...)
		sort.Slice(byNumber, func(i, j int) bool { return byNumber[i].number < byNumber[j].number })
		var d2 float64
		for r, a := range byNumber {
			d := float64(r - rankArrival[a.arrival])
			d2 += d * d
		}
		nf := float64(n)
		o.Spearman = 1 - 6*d2/(nf*(nf*nf-1))
		o.Z = o.Spearman * math.Sqrt(nf-1)
	}
	// The admission rate while the backlog of the opening drained (the
	// early arrivals, all waiting at once); later the arrivals bound it.
	var times []time.Time
	for _, a := range early {
		times = append(times, a.admitted)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if len(times) > 1 {
		if span := times[len(times)-1].Sub(opens).Seconds(); span > 0 {
			o.Rate = float64(len(times)) / span
		}
	}
	waits := func(as []releaseArrival, from func(releaseArrival) time.Time) (time.Duration, time.Duration) {
		if len(as) == 0 {
			return 0, 0
		}
		w := make([]time.Duration, len(as))
		for i, a := range as {
			w[i] = a.admitted.Sub(from(a))
		}
		sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
		q := func(p float64) time.Duration { return w[min(len(w)-1, int(p*float64(len(w))))] }
		return q(0.5), q(0.99)
	}
	o.EarlyP50, o.EarlyP99 = waits(early, func(releaseArrival) time.Time { return opens })
	o.LateP50, o.LateP99 = waits(late, func(a releaseArrival) time.Time { return a.joinedAt })
	return o
}

// checkRelease audits the record: no unit of the release location given
// twice or beyond its capacity.
func checkRelease(ctx context.Context, dbURL string, o releaseOptions) (releaseCheck, error) {
	var c releaseCheck
	if dbURL == "" {
		return c, fmt.Errorf("no -db for the oversold check")
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return c, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
		SELECT count(*), count(DISTINCT unit), count(*) FILTER (WHERE unit >= $2)
		FROM booking_units WHERE location_id = $1 GROUP BY cell_start`, o.location, o.capacity)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var n, distinct, beyond int
		if err := rows.Scan(&n, &distinct, &beyond); err != nil {
			return c, err
		}
		c.Units += n
		c.Oversold += max(0, n-o.capacity) + (n - distinct) + beyond
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	err = db.GetContext(ctx, &c.Bookings, `SELECT count(*) FROM bookings WHERE location_id = $1 AND status <> 'cancelled'`, o.location)
	return c, err
}

// Targets of scenario (c).
const releaseZLimit = 4.0 // |Z| above 4 has probability 6·10⁻⁵ for a random order

func (r releaseResult) table(o releaseOptions) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	ord := r.Order
	booked := 0
	for _, a := range r.Arrivals {
		if a.booked {
			booked++
		}
	}
	p("| | |\n|---|---|\n")
	p("| arrivals (spread over %s around the release) | %d, of which %d admitted (%d before the release, %d after) |\n", o.spread, len(r.Arrivals), ord.Admitted, ord.Early, ord.Late)
	p("| joins (proof of work at %d bits, %s of solving in all) | %d, p50 / p99 %s / %s |\n", o.powBits, r.Solve.Round(time.Millisecond), r.Join.N, ms(r.Join.P50), ms(r.Join.P99))
	p("| place requests (each browser as often as the server asks) | %d, %.0f/s, p50 / p99 %s / %s |\n", r.Poll.N, r.Poll.PerSec, ms(r.Poll.P50), ms(r.Poll.P99))
	p("| admission rate (configured %.0f/s), while the opening's backlog of %d drained | %.0f/s measured |\n", o.rate, ord.Early, ord.Rate)
	p("| time to admission, before the release (from the opening) | p50 %s, p99 %s |\n", ord.EarlyP50.Round(time.Millisecond), ord.EarlyP99.Round(time.Millisecond))
	p("| time to admission, after the release (from joining) | p50 %s, p99 %s |\n", ord.LateP50.Round(time.Millisecond), ord.LateP99.Round(time.Millisecond))
	p("| holds with admission | %d (%s), p50 / p99 %s / %s |\n", r.Hold.N, statusList(r.Hold.Status), ms(r.Hold.P50), ms(r.Hold.P99))
	p("| bookings | %d answered 201; %d in PostgreSQL holding %d units |\n", booked, r.Check.Bookings, r.Check.Units)
	p("| transport errors | %d%s |\n\n", r.Errors, map[bool]string{true: " (the run hit its deadline)", false: ""}[r.Deadline])
	p("| check | measured | |\n|---|---|---|\n")
	p("| no hold without a valid admission token (probes: none, forged, another browser's) | %d of %d probes got a hold (%s) | %s |\n", r.ProbesGranted, r.Probes, statusList(r.ProbeStatus), met(r.ProbesGranted == 0 && r.Probes > 0))
	p("| every arrival before the release admitted before every one after it | %v | %s |\n", ord.EarlyBeforeLate, met(ord.EarlyBeforeLate))
	p("| arrivals after the release admitted in arrival order | %d out of order | %s |\n", ord.LateInversions, met(ord.LateInversions == 0))
	p("| order before the release unrelated to arrival (Spearman ρ, \\|ρ·√(n−1)\\| < %.0f) | ρ = %.3f, z = %.2f | %s |\n", releaseZLimit, ord.Spearman, ord.Z, met(math.Abs(ord.Z) < releaseZLimit))
	p("| oversold units = 0 (checked in PostgreSQL) | %d | %s |\n", r.Check.Oversold, met(r.Check.Oversold == 0))
	return b.String()
}

// releaseMarkdown is scenario (c)'s section of docs/benchmarks.md.
func releaseMarkdown(r releaseResult, o releaseOptions, command string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("%s\n## Scenario (c): a release through the waiting room\n\n", releaseBegin)
	p("Generated by `%s` on %s (deploy/bench.sh starts a second server for it, with a waiting\n", command, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("room at `%s` and a release 20 s after its start; see docs/fair-release.md).\n", o.location)
	p("%d browsers arrive evenly spread over %s around the release; each takes a place with a\n", o.arrivals, o.spread)
	p("proof of work (%d bits here: a bench difficulty, production default 18), asks for its place as\n", o.powBits)
	p("often as the server's `retry_after_seconds` says, and once admitted holds a time at `%s`\n", o.location)
	p("(%d units a slot) with its admission token and books it. Every %dth browser also tries a hold\n", o.capacity, o.probeEvery)
	p("without a token, with a forged token and with another browser's. %d HTTP connections are shared\n", o.conns)
	p("by all browsers. Times to admission are the server's (`admitted_at` − `joined_at` or the opening).\n\n")
	p("%s\n", r.table(o))
	p("The admission order before the release is also tested for uniformity, over many rooms, in\n")
	p("`server/fairness/redis` (`TestRoomEarlyOrderIsUniform`: chi-square over the 24 orders of\n")
	p("four and over the 4 × 4 position table, failure probability below 2·10⁻⁶).\n\n")
	p("![Admission order: arrival time against admission time](bench-release.png)\n\n")
	p("%s\n", releaseEnd)
	return b.String()
}

const (
	releaseBegin = "<!-- scenario c: begin -->"
	releaseEnd   = "<!-- scenario c: end -->"
)

// writeRelease puts scenario (c)'s section into benchmarks.md, replacing
// the one of an earlier run, and writes its plot.
func writeRelease(dir string, r releaseResult, o releaseOptions, command string) error {
	path := dir + "/benchmarks.md"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if i, j := strings.Index(doc, releaseBegin), strings.Index(doc, releaseEnd); i >= 0 && j > i {
		doc = doc[:i] + doc[j+len(releaseEnd):]
		doc = strings.TrimRight(doc, "\n") + "\n"
	}
	doc = strings.TrimRight(doc, "\n") + "\n\n" + releaseMarkdown(r, o, command)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return err
	}
	return os.WriteFile(dir+"/bench-release.png", plotRelease(r), 0o644)
}

// plotRelease draws each admitted browser as a dot: arrival time across,
// admission time up, both from the release. Before the release the dots
// fill a band at random heights; after it they climb in order.
func plotRelease(r releaseResult) []byte {
	const w, h = 960, 520
	const left, right, top, bottom = 70, 40, 40, 60
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	grey, black := color.RGBA{200, 200, 200, 255}, color.RGBA{0, 0, 0, 255}
	early, late := color.RGBA{0, 90, 170, 255}, color.RGBA{220, 110, 0, 255}
	var x0, x1, y1 float64
	for _, a := range r.Arrivals {
		if !a.ok {
			continue
		}
		x := a.joinedAt.Sub(r.Opens).Seconds()
		x0, x1 = math.Min(x0, x), math.Max(x1, x)
		y1 = math.Max(y1, a.admitted.Sub(r.Opens).Seconds())
	}
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= 0 {
		y1 = 1
	}
	xOf := func(s float64) int { return left + int((s-x0)/(x1-x0)*float64(w-left-right)) }
	yOf := func(s float64) int { return h - bottom - int(s/y1*float64(h-top-bottom)) }
	line(img, left, h-bottom, w-right, h-bottom, black)
	line(img, left, top, left, h-bottom, black)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := yOf(f * y1)
		line(img, left, y, w-right, y, grey)
		text(img, 8, y+4, fmt.Sprintf("%.1f s", f*y1), black)
	}
	zx := xOf(0)
	for y := top; y < h-bottom; y += 6 {
		line(img, zx, y, zx, y+3, color.RGBA{220, 0, 0, 255})
	}
	text(img, zx+4, top+12, "release", color.RGBA{220, 0, 0, 255})
	text(img, left, h-bottom+18, fmt.Sprintf("%.0f s", x0), black)
	text(img, w-right-40, h-bottom+18, fmt.Sprintf("%+.0f s", x1), black)
	text(img, left+(w-left-right)/2-90, h-bottom+40, "joined (from the release)", black)
	text(img, left, 20, "Admission order: each dot a browser, admitted (up) against joined (across)", black)
	for _, a := range r.Arrivals {
		if !a.ok {
			continue
		}
		c := late
		if a.early {
			c = early
		}
		x, y := xOf(a.joinedAt.Sub(r.Opens).Seconds()), yOf(a.admitted.Sub(r.Opens).Seconds())
		img.Set(x, y, c)
		img.Set(x+1, y, c)
		img.Set(x, y+1, c)
		img.Set(x+1, y+1, c)
	}
	text(img, left+10, top+30, "before the release (random place)", early)
	text(img, left+10, top+46, "after the release (arrival order)", late)
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// releaseFlags declares scenario (c)'s options.
func releaseFlags(o *options) {
	r := &o.release
	flag.StringVar(&o.scenario, "scenario", "rush", "rush (the rush, baseline and ceiling) or release (scenario c: a release through the waiting room)")
	flag.StringVar(&r.location, "release-location", "release-hall", "location of the release (its server has a waiting room there)")
	flag.StringVar(&r.service, "release-service", "release-ticket", "service held and booked after admission")
	flag.IntVar(&r.capacity, "release-capacity", 100, "units of each slot of the release location")
	flag.IntVar(&r.arrivals, "arrivals", 20000, "browsers arriving around the release")
	flag.DurationVar(&r.spread, "spread", 20*time.Second, "the arrivals are spread evenly over this span, centred on the release")
	flag.IntVar(&r.conns, "release-conns", 256, "HTTP connections all browsers share")
	flag.IntVar(&r.probeEvery, "probe-every", 20, "every n-th browser also tries holds without a valid admission")
	flag.Float64Var(&r.rate, "admission-rate", 500, "the server's configured admissions per second, for the report")
	flag.IntVar(&r.powBits, "room-pow-bits", 8, "the server's waiting-room proof-of-work difficulty, for the report")
	flag.DurationVar(&r.deadline, "release-deadline", 3*time.Minute, "longest the run may last after the last arrival")
}

// benchRelease runs scenario (c) and reports it.
func benchRelease(ctx context.Context, o options) error {
	ro := o.release
	fmt.Fprintf(os.Stderr, "loadgen: release through the waiting room (%d arrivals over %s) ...\n", ro.arrivals, ro.spread)
	r, err := runRelease(ctx, o.ours, ro, o.oursDB)
	if err != nil {
		return err
	}
	fmt.Println(r.table(ro))
	if o.outDir == "" {
		return nil
	}
	if err := writeRelease(o.outDir, r, ro, o.command); err != nil {
		return fmt.Errorf("write release report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "loadgen: wrote scenario (c) into %s/benchmarks.md and %s/bench-release.png\n", o.outDir, o.outDir)
	return nil
}
