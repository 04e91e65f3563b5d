package main

// `loadgen soak` (make soak, see deploy/soak.sh): a steady mixed load at a
// fixed modest rate for a long time, to show that the server does not
// grow: memory, goroutines, descriptors and connections are sampled from
// its metrics listener, /proc, PostgreSQL and Redis, and compared between
// a window after the warm-up and a window at the end.
//
// The load is open loop: every flow (one citizen browsing, booking and
// paying, one kiosk call, one staff call) starts on its own clock whether
// or not earlier ones have finished, as citizens arrive whether or not the
// server is slow; only the number of flows in flight is bounded, and a
// flow that finds the bound reached counts as an error.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/digitale-verwaltung/termin/server/fairness"
)

// The soak's own locations, added to the demo city: an office and a pool
// open around the clock, so walk-in tickets and check-ins of today's
// appointments work at any hour the soak runs.
const soakLocations = `[
  {"id": "soak-amt", "kind": "office", "name": "Dauertest-Amt", "timezone": "Europe/Berlin",
   "capacity": 60, "slot_minutes": 5, "closed_on_holidays": false, "booking_horizon_days": 30,
   "hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens": "00:00", "closes": "24:00"}],
   "closures": [],
   "services": [
     {"id": "soak-beratung", "name": "Beratung", "duration_minutes": 5, "fee_cents": 0, "payment": "counter", "max_units": 1},
     {"id": "soak-urkunde", "name": "Urkunde", "duration_minutes": 10, "fee_cents": 1200, "payment": "counter", "max_units": 1}
   ]},
  {"id": "soak-bad", "kind": "pool", "name": "Dauertest-Bad", "timezone": "Europe/Berlin",
   "capacity": 400, "slot_minutes": 60, "closed_on_holidays": false, "booking_horizon_days": 14,
   "hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens": "00:00", "closes": "24:00"}],
   "closures": [],
   "services": [
     {"id": "soak-eintritt", "name": "Eintritt", "duration_minutes": 60, "fee_cents": 350, "payment": "online", "max_units": 4}
   ]}
]`

const soakAccounting = `[
  {"service": "soak-eintritt", "haushaltsstelle": "4240.1100", "produkt": "42.40.01", "sachkonto": "4321000",
   "kostenstelle": "424010", "booking_text": "Eintritt Dauertest-Bad", "tax_rate": "7"}
]`

const (
	soakOffice      = "soak-amt"
	soakFree        = "soak-beratung"
	soakPool        = "soak-bad"
	soakPaid        = "soak-eintritt"
	soakMaxInFlight = 300
)

type soakOptions struct {
	server, paysim, metrics  string
	serverPID                int
	adminKey, db, redisAddr  string
	smtpAddr, exportDir      string
	duration, warmup, window time.Duration
	rps                      float64
	out, command             string
	demoDir, writeCity       string
}

// soakMain runs `loadgen soak` and returns the exit code.
func soakMain(args []string) int {
	var o soakOptions
	fs := flag.NewFlagSet("loadgen soak", flag.ExitOnError)
	fs.StringVar(&o.server, "server", "", "base URL of the server")
	fs.StringVar(&o.paysim, "paysim", "", "base URL of the payment simulator (its pay pages)")
	fs.StringVar(&o.metrics, "metrics", "", "the server's metrics URL, http://METRICS_ADDR/metrics")
	fs.IntVar(&o.serverPID, "server-pid", 0, "process id of the server, for its resident memory and sockets from /proc")
	fs.StringVar(&o.adminKey, "admin-key", os.Getenv("ADMIN_API_KEY"), "ADMIN_API_KEY of the server: devices and staff calls")
	fs.StringVar(&o.db, "db", os.Getenv("DATABASE_URL"), "the server's PostgreSQL, for pg_stat_activity and the postings")
	fs.StringVar(&o.redisAddr, "redis", os.Getenv("REDIS_ADDR"), "the server's Redis, for INFO clients")
	fs.StringVar(&o.smtpAddr, "smtp", os.Getenv("SMTP_ADDR"), "the server's SMTP server, to tell its connections apart")
	fs.StringVar(&o.exportDir, "export-dir", os.Getenv("EXPORT_DIR"), "the server's EXPORT_DIR, to count the exported postings")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "length of the load")
	fs.DurationVar(&o.warmup, "warmup", 0, "load before the start window; a tenth of the duration (at most a minute, at least a few seconds) when 0")
	fs.DurationVar(&o.window, "window", 0, "length of the start and end windows; a tenth of the duration (at most a minute, at least a few seconds) when 0")
	fs.Float64Var(&o.rps, "rps", 30, "requests per second to the server in total, roughly")
	fs.StringVar(&o.out, "out", "", "write the markdown report to this file")
	fs.StringVar(&o.command, "command", "make soak", "the command named in the report")
	fs.StringVar(&o.demoDir, "demo", "server", "directory of democity.json and demoaccounting.json, for -write-city")
	fs.StringVar(&o.writeCity, "write-city", "", "write city.json (the demo city and the soak's locations) and accounting.json into this directory and exit")
	fs.Parse(args)
	if o.writeCity != "" {
		if err := writeSoakCity(o.demoDir, o.writeCity); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen soak:", err)
			return 1
		}
		return 0
	}
	if o.server == "" || o.paysim == "" || o.metrics == "" || o.adminKey == "" {
		fmt.Fprintln(os.Stderr, "loadgen soak: -server, -paysim, -metrics and -admin-key are required")
		return 2
	}
	// A tenth of the run each, at most a minute; a short check still
	// gets a few seconds of warm-up and a few samples per window.
	tenth := min(o.duration/10, time.Minute)
	if o.warmup == 0 {
		o.warmup = max(tenth, min(5*time.Second, o.duration/4))
	}
	if o.window == 0 {
		o.window = max(tenth, min(3*time.Second, o.duration/5))
	}
	if o.warmup+2*o.window > o.duration {
		fmt.Fprintln(os.Stderr, "loadgen soak: warm-up and two windows do not fit into the duration")
		return 2
	}
	rep, err := soak(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen soak:", err)
		return 1
	}
	md := rep.markdown()
	fmt.Println(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen soak: write report:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "loadgen soak: wrote", o.out)
	}
	if !rep.passed() {
		fmt.Fprintln(os.Stderr, "loadgen soak: FAILED:", strings.Join(rep.problems(), "; "))
		return 1
	}
	return 0
}

// writeSoakCity adds the soak's locations to the demo city and its
// accounting, so `server seed` loads both (and the simulated kiosk of
// `make run` finds its Bürgeramt).
func writeSoakCity(demoDir, outDir string) error {
	merge := func(in, key, extra, out string) error {
		b, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		var add []any
		if err := json.Unmarshal([]byte(extra), &add); err != nil {
			return fmt.Errorf("soak %s: %w", key, err)
		}
		list, _ := doc[key].([]any)
		doc[key] = append(list, add...)
		b, err = json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	}
	if err := merge(demoDir+"/democity.json", "locations", soakLocations, outDir+"/city.json"); err != nil {
		return err
	}
	return merge(demoDir+"/demoaccounting.json", "services", soakAccounting, outDir+"/accounting.json")
}

// soaker holds the clients and the tallies of one soak run.
type soaker struct {
	o       soakOptions
	base    string
	http    *fasthttp.HostClient
	sim     *http.Client
	t0      time.Time
	rec     recorder
	seq     atomic.Int64
	flights atomic.Int64
	device  string // token of the soak's counter kiosk
	berlin  *time.Location
	// counts of what the flows achieved
	booked, paid, cancelled, walkIns, checkIns, called, dropped atomic.Int64
	flowErrors                                                  atomic.Int64
	lastFlowErr                                                 atomic.Value
	waits                                                       sync.WaitGroup
}

// flow is one kind of visitor with its rate at the nominal mix.
type flow struct {
	name     string
	perSec   float64 // flows per second at the nominal mix
	requests float64 // server requests a flow makes, about
	run      func(s *soaker, ctx context.Context, c citizen) error
}

// citizen is one visitor: an address of its own (the server reads it from
// X-Forwarded-For, as behind a proxy, so per-client limits see many
// clients, as in a city) and a number for unique e-mail addresses.
type citizen struct {
	addr string
	n    int64
}

var soakFlows = []flow{
	{"pages", 0.9, 4, (*soaker).browsePages},
	{"api browse", 0.9, 4, (*soaker).browseAPI},
	{"availability", 7, 1, (*soaker).pollAvailability},
	{"hold and release", 1.2, 3, (*soaker).holdAndRelease},
	{"free booking", 0.8, 4.5, (*soaker).freeBooking},
	{"paid booking", 0.4, 4.25, (*soaker).paidBooking},
	{"check-in", 0.12, 4, (*soaker).checkIn},
	{"walk-in", 0.6, 1, (*soaker).walkIn},
	{"staff call", 1, 1.8, (*soaker).staffCall},
	{"queue display", 1.5, 1, (*soaker).queueDisplay},
	{"kiosk heartbeat", 0.1, 1, (*soaker).heartbeat},
	{"kiosk config", 1.0 / 30, 1, (*soaker).kioskConfig},
	{"readiness probe", 0.2, 1, (*soaker).readiness},
}

func nominalRPS() float64 {
	var sum float64
	for _, f := range soakFlows {
		sum += f.perSec * f.requests
	}
	return sum
}

func soak(ctx context.Context, o soakOptions) (*soakReport, error) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(o.server, "/")
	s := &soaker{
		o: o, base: base, berlin: berlin,
		http: &fasthttp.HostClient{
			Addr:     strings.TrimPrefix(base, "http://"),
			MaxConns: soakMaxInFlight,
			// The most recently used connection first, so connections
			// opened in a moment of many requests in flight fall idle
			// and close again; round robin would keep every one alive
			// and ratchet the count up to the busiest moment of the run.
			ConnPoolStrategy:    fasthttp.LIFO,
			MaxIdleConnDuration: 10 * time.Second,
			ReadTimeout:         30 * time.Second,
			WriteTimeout:        30 * time.Second,
		},
		sim: &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if err := s.enrollKiosk(ctx); err != nil {
		return nil, fmt.Errorf("enroll the soak's kiosk: %w", err)
	}
	probe, err := newProbe(ctx, o)
	if err != nil {
		return nil, err
	}
	defer probe.close()
	rep := &soakReport{Options: o, Machine: machine(), When: time.Now().UTC(), NominalRPS: nominalRPS()}
	scale := o.rps / rep.NominalRPS
	fmt.Fprintf(os.Stderr, "loadgen soak: %s of mixed load at about %.0f requests/s (warm-up %s, windows %s) ...\n",
		o.duration, o.rps, o.warmup, o.window)

	s.t0 = time.Now()
	runCtx, stop := context.WithTimeout(ctx, o.duration)
	defer stop()
	var samples []sample
	var sampleMu sync.Mutex
	every := max(time.Second, min(5*time.Second, o.window/10))
	var samplerDone sync.WaitGroup
	samplerDone.Add(1)
	go func() {
		defer samplerDone.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			sm := probe.take(ctx)
			sm.At = time.Since(s.t0)
			sampleMu.Lock()
			samples = append(samples, sm)
			sampleMu.Unlock()
		}
	}()
	var clocks sync.WaitGroup
	for _, f := range soakFlows {
		clocks.Add(1)
		go func() {
			defer clocks.Done()
			s.clock(runCtx, f, f.perSec*scale)
		}()
	}
	clocks.Wait()
	samplerDone.Wait()
	// Flows still in flight finish (their requests are bounded by the
	// client's timeouts); delayed cancellations due after the end are
	// dropped by their context.
	s.waits.Wait()
	s.http.CloseIdleConnections()
	rep.Wall = time.Since(s.t0)
	rep.Samples = samples
	rep.Every = every
	rep.Requests = s.rec.snapshot()
	rep.Flows = flowCounts{
		Booked: s.booked.Load(), Paid: s.paid.Load(), Cancelled: s.cancelled.Load(), WalkIns: s.walkIns.Load(),
		CheckIns: s.checkIns.Load(), Called: s.called.Load(), Dropped: s.dropped.Load(), FlowErrors: s.flowErrors.Load(),
	}
	if e, ok := s.lastFlowErr.Load().(string); ok {
		rep.Flows.LastFlowError = e
	}
	rep.Finance = probe.finance(ctx, s.paid.Load())
	rep.MachineEnd = machine()
	return rep, nil
}

// clock starts flow f perSec times a second for as long as ctx lives.
func (s *soaker) clock(ctx context.Context, f flow, perSec float64) {
	if perSec <= 0 {
		return
	}
	gap := time.Duration(float64(time.Second) / perSec)
	// A random phase keeps the flows' clocks from ticking together.
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(rand.Int64N(int64(gap)))):
	}
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for {
		if s.flights.Load() >= soakMaxInFlight {
			s.dropped.Add(1)
		} else {
			s.flights.Add(1)
			s.waits.Add(1)
			n := s.seq.Add(1)
			c := citizen{addr: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), n: n}
			go func() {
				defer s.waits.Done()
				defer s.flights.Add(-1)
				if err := f.run(s, ctx, c); err != nil && ctx.Err() == nil {
					s.flowErrors.Add(1)
					s.lastFlowErr.Store(f.name + ": " + err.Error())
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// call is one request to the server; ok lists the statuses the flow
// accepts (a 4xx among them is expected, such as queue_empty).
type call struct {
	kind, method, path string
	body               any
	bearer             string
	citizen            citizen
	ok                 []int
	// codes are the error codes an accepted 4xx must carry (all when
	// empty): a 409 queue_empty is the staff's good luck, a 409
	// ticket_state is an error.
	codes []string
}

type reply struct {
	status int
	body   []byte
}

var errUnexpected = errors.New("unexpected answer")

func (s *soaker) do(ctx context.Context, c call) (reply, error) {
	if err := ctx.Err(); err != nil {
		return reply{}, err
	}
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(s.base + c.path)
	req.Header.SetMethod(c.method)
	req.Header.Set("Accept", "application/json")
	if c.citizen.addr != "" {
		req.Header.Set("X-Forwarded-For", c.citizen.addr)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return reply{}, err
		}
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(b)
	}
	t0 := time.Now()
	err := s.http.Do(req, res)
	d := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, ctx.Err()
		}
		s.rec.add(c.kind, t0.Sub(s.t0), d, 0, "", false)
		return reply{}, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	r := reply{res.StatusCode(), append([]byte(nil), res.Body()...)}
	accepted := false
	for _, st := range c.ok {
		accepted = accepted || st == r.status
	}
	code := ""
	if r.status >= 400 {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(r.body, &e)
		code = e.Error.Code
		if accepted && len(c.codes) > 0 && !slices.Contains(c.codes, code) {
			accepted = false
		}
	}
	s.rec.add(c.kind, t0.Sub(s.t0), d, r.status, code, accepted)
	if !accepted {
		return r, fmt.Errorf("%s %s: %w %d %s", c.method, c.path, errUnexpected, r.status, truncate(r.body, 200))
	}
	return r, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func (s *soaker) get(ctx context.Context, c citizen, kind, path string) (reply, error) {
	return s.do(ctx, call{kind: kind, method: "GET", path: path, citizen: c, ok: []int{200}})
}

func (s *soaker) day(offset int) string {
	return time.Now().In(s.berlin).AddDate(0, 0, offset).Format(time.DateOnly)
}

type soakSlot struct {
	Start time.Time `json:"start"`
	Free  int       `json:"free"`
}

// slots asks for the free starts of a service from day from to day to.
func (s *soaker) slots(ctx context.Context, c citizen, location, service string, units int, from, to string) ([]soakSlot, error) {
	q := url.Values{"location": {location}, "service": {service}, "from": {from}, "to": {to}}
	if units > 1 {
		q.Set("units", fmt.Sprint(units))
	}
	r, err := s.get(ctx, c, "availability", "/api/v1/availability?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var av struct{ Slots []soakSlot }
	if err := json.Unmarshal(r.body, &av); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	var free []soakSlot
	for _, sl := range av.Slots {
		if sl.Free >= max(units, 1) {
			free = append(free, sl)
		}
	}
	return free, nil
}

// hold holds units of service at start, solving a proof of work when the
// server asks for one, as a browser does.
func (s *soaker) hold(ctx context.Context, c citizen, location, service string, units int, start time.Time) (string, error) {
	body := map[string]any{"location": location, "service": service, "units": units, "start": start.Format(time.RFC3339)}
	r, err := s.do(ctx, call{kind: "hold", method: "POST", path: "/api/v1/holds", body: body, citizen: c,
		ok: []int{201, http.StatusConflict, http.StatusPreconditionRequired}, codes: []string{"slot_full", "challenge_required"}})
	if err != nil {
		return "", err
	}
	if r.status == http.StatusPreconditionRequired {
		cr, err := s.get(ctx, c, "challenge", "/api/v1/challenge?location="+url.QueryEscape(location))
		if err != nil {
			return "", err
		}
		var ch fairness.Challenge
		if err := json.Unmarshal(cr.body, &ch); err != nil || ch.Challenge == "" {
			return "", fmt.Errorf("challenge %s", truncate(cr.body, 200))
		}
		body["pow"] = powAnswer{ch.Challenge, fairness.Solve(ch.Challenge, ch.Difficulty)}
		if r, err = s.do(ctx, call{kind: "hold", method: "POST", path: "/api/v1/holds", body: body, citizen: c,
			ok: []int{201, http.StatusConflict}, codes: []string{"slot_full"}}); err != nil {
			return "", err
		}
	}
	if r.status == http.StatusConflict {
		// Someone was quicker at the last free unit: a citizen's race,
		// not an error; the flow ends as a citizen would try again later.
		return "", nil
	}
	var h struct{ ID string }
	if err := json.Unmarshal(r.body, &h); err != nil || h.ID == "" {
		return "", fmt.Errorf("hold answer %s", truncate(r.body, 200))
	}
	return h.ID, nil
}

type soakBooking struct {
	Code        string `json:"code"`
	ManageToken string `json:"manage_token"`
	Status      string `json:"status"`
	PaymentURL  string `json:"payment_url"`
}

func (s *soaker) book(ctx context.Context, c citizen, kind, hold string) (soakBooking, error) {
	r, err := s.do(ctx, call{kind: kind, method: "POST", path: "/api/v1/bookings", citizen: c, ok: []int{201},
		body: map[string]string{"hold": hold, "name": "Dauertest Person", "email": fmt.Sprintf("soak-%d@example.org", c.n), "lang": "de"}})
	if err != nil {
		return soakBooking{}, err
	}
	var b soakBooking
	if err := json.Unmarshal(r.body, &b); err != nil || b.Code == "" {
		return b, fmt.Errorf("booking answer %s", truncate(r.body, 200))
	}
	s.booked.Add(1)
	return b, nil
}

// cancelLater cancels b with its manage token after a pause, as a citizen
// who changes their mind; the pause ends with the run.
func (s *soaker) cancelLater(ctx context.Context, c citizen, b soakBooking) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(time.Duration(2+rand.IntN(20)) * time.Second):
	}
	if _, err := s.do(ctx, call{kind: "cancel", method: "DELETE", path: "/api/v1/bookings/" + b.Code, bearer: b.ManageToken,
		citizen: c, ok: []int{200}}); err != nil {
		return err
	}
	s.cancelled.Add(1)
	return nil
}

var zeitLink = regexp.MustCompile(`href="(/[a-z0-9-]+/zeit\?[^"]+)"`)

func (s *soaker) browsePages(ctx context.Context, c citizen) error {
	if _, err := s.get(ctx, c, "page", "/"); err != nil {
		return err
	}
	if rand.IntN(3) == 0 {
		// A pool: its ticket choice, deep-linked.
		loc, svc := soakPool, soakPaid
		if rand.IntN(2) == 0 {
			loc, svc = "stadtbad", "erwachsene"
		}
		if _, err := s.get(ctx, c, "page", "/"+loc); err != nil {
			return err
		}
		_, err := s.get(ctx, c, "page", "/"+loc+"/"+svc)
		return err
	}
	loc, svc := soakOffice, soakFree
	if rand.IntN(2) == 0 {
		loc, svc = "buergeramt-koblenz", "meldebescheinigung"
	}
	if _, err := s.get(ctx, c, "page", "/"+loc); err != nil {
		return err
	}
	r, err := s.get(ctx, c, "page", "/"+loc+"/tag?s="+svc)
	if err != nil {
		return err
	}
	m := zeitLink.FindSubmatch(r.body)
	if m == nil {
		return nil // no bookable day shown (the demo office's window can be empty)
	}
	_, err = s.get(ctx, c, "page", html.UnescapeString(string(m[1])))
	return err
}

func (s *soaker) browseAPI(ctx context.Context, c citizen) error {
	locs := []string{soakOffice, soakPool, "buergeramt-koblenz", "stadtbad"}
	svcs := []string{soakFree, soakPaid, "personalausweis", "erwachsene"}
	i := rand.IntN(len(locs))
	if _, err := s.get(ctx, c, "locations", "/api/v1/locations"); err != nil {
		return err
	}
	if _, err := s.get(ctx, c, "services", "/api/v1/locations/"+locs[i]+"/services"); err != nil {
		return err
	}
	if _, err := s.get(ctx, c, "calendar", "/api/v1/calendar?"+url.Values{"location": {locs[i]}, "service": {svcs[i]}}.Encode()); err != nil {
		return err
	}
	d := rand.IntN(7)
	_, err := s.get(ctx, c, "availability", "/api/v1/availability?"+url.Values{
		"location": {locs[i]}, "service": {svcs[i]}, "from": {s.day(d)}, "to": {s.day(d + 1)}}.Encode())
	return err
}

func (s *soaker) pollAvailability(ctx context.Context, c citizen) error {
	loc, svc := soakOffice, soakFree
	if rand.IntN(2) == 0 {
		loc, svc = soakPool, soakPaid
	}
	d := rand.IntN(10)
	_, err := s.get(ctx, c, "availability", "/api/v1/availability?"+url.Values{
		"location": {loc}, "service": {svc}, "from": {s.day(d)}}.Encode())
	return err
}

// pick chooses a random free start of location's service some days ahead.
func (s *soaker) pick(ctx context.Context, c citizen, location, service string, units, fromDay, toDay int) (time.Time, error) {
	d := fromDay + rand.IntN(toDay-fromDay+1)
	free, err := s.slots(ctx, c, location, service, units, s.day(d), s.day(d))
	if err != nil {
		return time.Time{}, err
	}
	// Leave the next minutes alone: a start that passes while the flow
	// runs is the citizen's bad luck, not the server's error.
	soon := time.Now().Add(5 * time.Minute)
	var later []soakSlot
	for _, sl := range free {
		if sl.Start.After(soon) {
			later = append(later, sl)
		}
	}
	if len(later) == 0 {
		return time.Time{}, fmt.Errorf("no free start of %s on %s", service, s.day(d))
	}
	return later[rand.IntN(len(later))].Start, nil
}

func (s *soaker) holdAndRelease(ctx context.Context, c citizen) error {
	start, err := s.pick(ctx, c, soakOffice, soakFree, 1, 1, 29)
	if err != nil {
		return err
	}
	id, err := s.hold(ctx, c, soakOffice, soakFree, 1, start)
	if err != nil || id == "" {
		return err
	}
	_, err = s.do(ctx, call{kind: "release", method: "DELETE", path: "/api/v1/holds/" + url.PathEscape(id), citizen: c, ok: []int{204}})
	return err
}

func (s *soaker) freeBooking(ctx context.Context, c citizen) error {
	start, err := s.pick(ctx, c, soakOffice, soakFree, 1, 1, 29)
	if err != nil {
		return err
	}
	id, err := s.hold(ctx, c, soakOffice, soakFree, 1, start)
	if err != nil || id == "" {
		return err
	}
	b, err := s.book(ctx, c, "booking", id)
	if err != nil {
		return err
	}
	if _, err := s.do(ctx, call{kind: "booking read", method: "GET", path: "/api/v1/bookings/" + b.Code, bearer: b.ManageToken,
		citizen: c, ok: []int{200}}); err != nil {
		return err
	}
	if rand.IntN(2) == 0 {
		return s.cancelLater(ctx, c, b)
	}
	return nil
}

// paidBooking books pool tickets paid online: the citizen goes to the
// simulator's pay page, pays, and comes back to the server, which asks
// the platform and confirms the booking; its posting is then exported.
func (s *soaker) paidBooking(ctx context.Context, c citizen) error {
	units := 1 + rand.IntN(2)
	start, err := s.pick(ctx, c, soakPool, soakPaid, units, 0, 13)
	if err != nil {
		return err
	}
	id, err := s.hold(ctx, c, soakPool, soakPaid, units, start)
	if err != nil || id == "" {
		return err
	}
	b, err := s.book(ctx, c, "booking paid", id)
	if err != nil {
		return err
	}
	if b.Status != "pending_payment" || b.PaymentURL == "" {
		return fmt.Errorf("paid booking %s is %s without a pay page", b.Code, b.Status)
	}
	back, err := s.pay(ctx, b.PaymentURL)
	if err != nil {
		return err
	}
	u, err := url.Parse(back)
	if err != nil {
		return fmt.Errorf("return URL %q: %w", back, err)
	}
	r, err := s.do(ctx, call{kind: "payment return", method: "GET", path: u.RequestURI(), citizen: c, ok: []int{200}})
	if err != nil {
		return err
	}
	var p struct {
		State         string `json:"state"`
		BookingStatus string `json:"booking_status"`
	}
	json.Unmarshal(r.body, &p)
	if p.BookingStatus != "confirmed" {
		return fmt.Errorf("after paying, booking %s is %q (payment %q)", b.Code, p.BookingStatus, p.State)
	}
	s.paid.Add(1)
	if rand.IntN(4) == 0 {
		return s.cancelLater(ctx, c, b)
	}
	return nil
}

// pay opens the simulator's pay page and pays, as the citizen's browser;
// it returns where the simulator sends the citizen back to.
func (s *soaker) pay(ctx context.Context, payURL string) (string, error) {
	t0 := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", payURL, nil)
	res, err := s.sim.Do(req)
	if err != nil {
		s.rec.add("simulator pay page", t0.Sub(s.t0), time.Since(t0), 0, "", false)
		return "", fmt.Errorf("pay page: %w", err)
	}
	res.Body.Close()
	s.rec.add("simulator pay page", t0.Sub(s.t0), time.Since(t0), res.StatusCode, "", res.StatusCode == 200)
	if res.StatusCode != 200 {
		return "", fmt.Errorf("pay page: %s", res.Status)
	}
	t0 = time.Now()
	form := url.Values{"action": {"pay"}, "method": {"creditcard"}}
	req, _ = http.NewRequestWithContext(ctx, "POST", payURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = s.sim.Do(req)
	if err != nil {
		s.rec.add("simulator pay", t0.Sub(s.t0), time.Since(t0), 0, "", false)
		return "", fmt.Errorf("pay: %w", err)
	}
	res.Body.Close()
	ok := res.StatusCode == http.StatusSeeOther
	s.rec.add("simulator pay", t0.Sub(s.t0), time.Since(t0), res.StatusCode, "", ok)
	if !ok {
		return "", fmt.Errorf("pay: %s", res.Status)
	}
	return res.Header.Get("Location"), nil
}

// checkIn books one of the next appointments of today and checks it in
// at the soak's counter kiosk, which prints a T number.
func (s *soaker) checkIn(ctx context.Context, c citizen) error {
	free, err := s.slots(ctx, c, soakOffice, soakFree, 1, s.day(0), s.day(1))
	if err != nil {
		return err
	}
	var soon []soakSlot
	for _, sl := range free {
		if until := time.Until(sl.Start); until > 2*time.Minute && until < 25*time.Minute {
			soon = append(soon, sl)
		}
	}
	if len(soon) == 0 {
		return fmt.Errorf("no free start in the next 25 minutes")
	}
	id, err := s.hold(ctx, c, soakOffice, soakFree, 1, soon[rand.IntN(len(soon))].Start)
	if err != nil || id == "" {
		return err
	}
	b, err := s.book(ctx, c, "booking", id)
	if err != nil {
		return err
	}
	if _, err := s.do(ctx, call{kind: "kiosk check-in", method: "POST", path: "/api/v1/kiosk/check-ins", bearer: s.device,
		body: map[string]string{"code": b.Code}, ok: []int{201}}); err != nil {
		return err
	}
	s.checkIns.Add(1)
	return nil
}

func (s *soaker) walkIn(ctx context.Context, _ citizen) error {
	if _, err := s.do(ctx, call{kind: "kiosk walk-in", method: "POST", path: "/api/v1/kiosk/walk-ins", bearer: s.device,
		body: map[string]string{"service": soakFree}, ok: []int{201}}); err != nil {
		return err
	}
	s.walkIns.Add(1)
	return nil
}

// staffCall calls the next number to a desk and serves it at once; an
// empty queue (409 queue_empty) is the staff's good luck.
func (s *soaker) staffCall(ctx context.Context, c citizen) error {
	desk := fmt.Sprintf("Platz %d", 1+c.n%8)
	r, err := s.do(ctx, call{kind: "staff call", method: "POST", path: "/api/v1/staff/locations/" + soakOffice + "/call",
		bearer: s.o.adminKey, body: map[string]string{"desk": desk}, ok: []int{200, http.StatusConflict}, codes: []string{"queue_empty"}})
	if err != nil || r.status != 200 {
		return err
	}
	var t struct{ ID int64 }
	if err := json.Unmarshal(r.body, &t); err != nil || t.ID == 0 {
		return fmt.Errorf("call answer %s", truncate(r.body, 200))
	}
	s.called.Add(1)
	_, err = s.do(ctx, call{kind: "staff finish", method: "POST",
		path:   fmt.Sprintf("/api/v1/staff/locations/%s/tickets/%d/finish", soakOffice, t.ID),
		bearer: s.o.adminKey, body: map[string]string{"state": "served"}, ok: []int{200}})
	return err
}

func (s *soaker) queueDisplay(ctx context.Context, c citizen) error {
	_, err := s.get(ctx, c, "queue display", "/api/v1/locations/"+soakOffice+"/queue/display")
	return err
}

func (s *soaker) heartbeat(ctx context.Context, _ citizen) error {
	_, err := s.do(ctx, call{kind: "kiosk heartbeat", method: "POST", path: "/api/v1/kiosk/heartbeat", bearer: s.device, ok: []int{204},
		body: map[string]any{"version": "soak", "status": map[string]any{
			"printer": map[string]any{"paper": "ok", "online": true}, "scanner_connected": true}}})
	return err
}

func (s *soaker) kioskConfig(ctx context.Context, _ citizen) error {
	_, err := s.do(ctx, call{kind: "kiosk config", method: "GET", path: "/api/v1/kiosk/config", bearer: s.device, ok: []int{200}})
	return err
}

func (s *soaker) readiness(ctx context.Context, _ citizen) error {
	_, err := s.do(ctx, call{kind: "readiness", method: "GET", path: "/readyz", ok: []int{200}})
	return err
}

// enrollKiosk registers a counter kiosk at the soak's office and enrolls
// it, as an administrator and the kiosk's installer would.
func (s *soaker) enrollKiosk(ctx context.Context) error {
	post := func(path, bearer string, body any) ([]byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", s.base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(res.Body)
		if res.StatusCode != 201 {
			return nil, fmt.Errorf("%s: %s %s", path, res.Status, truncate(buf.Bytes(), 200))
		}
		return buf.Bytes(), nil
	}
	b, err := post("/api/v1/admin/devices", s.o.adminKey, map[string]string{"location": soakOffice, "name": "Dauertest-Kiosk", "mode": "counter"})
	if err != nil {
		return err
	}
	var reg struct {
		Code string `json:"enrollment_code"`
	}
	if err := json.Unmarshal(b, &reg); err != nil || reg.Code == "" {
		return fmt.Errorf("registration answer %s", truncate(b, 200))
	}
	b, err = post("/api/v1/devices/enroll", "", map[string]string{"code": reg.Code})
	if err != nil {
		return err
	}
	var en struct{ Token string }
	if err := json.Unmarshal(b, &en); err != nil || en.Token == "" {
		return fmt.Errorf("enrollment answer %s", truncate(b, 200))
	}
	s.device = en.Token
	return nil
}
