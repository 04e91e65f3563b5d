package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

type flowCounts struct {
	Booked, Paid, Cancelled, WalkIns, CheckIns, Called int64
	// Dropped flows found soakMaxInFlight flows in flight: the server
	// fell behind the open-loop clock.
	Dropped       int64
	FlowErrors    int64
	LastFlowError string
}

type soakReport struct {
	Options    soakOptions
	Machine    machineInfo
	MachineEnd machineInfo
	When       time.Time
	Wall       time.Duration
	NominalRPS float64
	Every      time.Duration
	Samples    []sample
	Requests   map[string][]reqRecord
	Flows      flowCounts
	Finance    financeResult
}

// figure is one vital compared between the start and the end window.
type figure struct {
	name string
	mib  bool   // shown in MiB
	agg  string // how the window's samples are summarised: median, max or min
	get  func(sample) float64
	// The end may exceed the start by max(rel × start, abs); anything
	// more is growth. Less at the end is never a failure.
	rel, abs float64
	// info figures are shown, not judged.
	info bool
}

func socketsOf(class string) func(sample) float64 {
	return func(s sample) float64 { return s.Sockets[class] }
}

// soakFigures and their tolerances. Memory is compared by the median of
// the window (the Go heap swings between collections), goroutines too (a
// few more or fewer requests in flight); connections by the window's
// maximum, since pools open connections on demand, and the PostgreSQL
// connections in use by the minimum, which a leaked connection raises.
//
// The load generator's keep-alive connections to the server are as many as
// requests were in flight at the busiest recent moment, and the server
// keeps a goroutine and a descriptor for each: goroutines and descriptors
// are therefore compared without them (when the server's sockets can be
// read), the connections themselves are shown, and connections the client
// closed but the server kept (CLOSE_WAIT) must not grow.
func soakFigures(withPID bool) []figure {
	clients := socketsOf("HTTP clients")
	f := []figure{
		{name: "resident memory (RSS)", mib: true, agg: "median", get: func(s sample) float64 { return s.RSS }, rel: 0.25},
		{name: "Go heap in use", mib: true, agg: "median", get: func(s sample) float64 { return s.HeapInuse }, rel: 0.25},
	}
	if withPID {
		f = append(f,
			figure{name: "goroutines", agg: "median", get: func(s sample) float64 { return s.Goroutines }, info: true},
			figure{name: "goroutines less HTTP client connections", agg: "median",
				get: func(s sample) float64 { return s.Goroutines - clients(s) }, rel: 0.10, abs: 3},
			figure{name: "open file descriptors", agg: "max", get: func(s sample) float64 { return s.FDs }, info: true},
			figure{name: "open file descriptors less HTTP client connections", agg: "max",
				get: func(s sample) float64 { return s.FDs - clients(s) }, abs: 2},
		)
	} else {
		f = append(f,
			figure{name: "goroutines", agg: "median", get: func(s sample) float64 { return s.Goroutines }, rel: 0.10, abs: 3},
			figure{name: "open file descriptors", agg: "max", get: func(s sample) float64 { return s.FDs }, abs: 2},
		)
	}
	f = append(f, []figure{
		{name: "PostgreSQL pool: open (go_sql_open_connections)", agg: "max", get: func(s sample) float64 { return s.SQLOpen }, abs: 2},
		{name: "PostgreSQL pool: in use (go_sql_in_use_connections)", agg: "min", get: func(s sample) float64 { return s.SQLInUse }},
		{name: "PostgreSQL pool: waits so far (go_sql_wait_count_total)", agg: "max", get: func(s sample) float64 { return s.SQLWaits }, info: true},
		{name: "PostgreSQL backends (pg_stat_activity)", agg: "max", get: func(s sample) float64 { return s.PGBackends }, abs: 2},
		{name: "Redis pool: open (termin_redis_pool_connections)", agg: "max", get: func(s sample) float64 { return s.RedisPool }, abs: 2},
		{name: "Redis clients (INFO clients)", agg: "max", get: func(s sample) float64 { return s.RedisClients }, abs: 2},
	}...)
	if withPID {
		f = append(f, figure{name: "server sockets: HTTP clients (the load generator's keep-alive connections)", agg: "max", get: clients, info: true})
		f = append(f, figure{name: "server sockets: HTTP clients in CLOSE_WAIT", agg: "max", get: socketsOf("HTTP clients (CLOSE_WAIT)")})
		for _, c := range []string{"PostgreSQL", "Redis", "SMTP", "payment platform", "other"} {
			f = append(f, figure{name: "server sockets: " + c, agg: "max", get: socketsOf(c), abs: 2})
		}
	}
	return f
}

type windowFigure struct {
	figure
	start, end float64
	grew       bool
}

func (r *soakReport) startWindow() (time.Duration, time.Duration) {
	return r.Options.warmup, r.Options.warmup + r.Options.window
}

func (r *soakReport) endWindow() (time.Duration, time.Duration) {
	return r.Options.duration - r.Options.window, r.Options.duration
}

func (r *soakReport) inWindow(from, to time.Duration) []sample {
	var out []sample
	for _, s := range r.Samples {
		if s.At >= from && s.At <= to && len(s.Err) == 0 {
			out = append(out, s)
		}
	}
	return out
}

func summarise(ss []sample, f figure) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f.get(s)
	}
	switch f.agg {
	case "max":
		m := math.Inf(-1)
		for _, x := range v {
			m = max(m, x)
		}
		return m
	case "min":
		m := math.Inf(1)
		for _, x := range v {
			m = min(m, x)
		}
		return m
	}
	return median(v)
}

func (r *soakReport) figures() []windowFigure {
	a, b := r.startWindow()
	c, d := r.endWindow()
	first, last := r.inWindow(a, b), r.inWindow(c, d)
	if len(first) == 0 || len(last) == 0 {
		return nil
	}
	var out []windowFigure
	for _, f := range soakFigures(r.Options.serverPID > 0) {
		w := windowFigure{figure: f, start: summarise(first, f), end: summarise(last, f)}
		w.grew = !f.info && w.end-w.start > max(f.rel*w.start, f.abs)+1e-9
		out = append(out, w)
	}
	return out
}

// kindStats sums up the answers of one kind of request.
type kindStats struct {
	Kind                                  string
	N, Server5xx, Unexpected4xx, Expected int
	NoAnswer, OtherUnexpected             int
	P50, P99                              time.Duration
	Codes                                 map[string]int // unexpected answers by status and code
}

func statsOf(kind string, recs []reqRecord) kindStats {
	k := kindStats{Kind: kind, N: len(recs), Codes: map[string]int{}}
	lat := make([]time.Duration, 0, len(recs))
	for _, rc := range recs {
		lat = append(lat, rc.dur)
		switch {
		case rc.status == 0:
			k.NoAnswer++
		case rc.status >= 500:
			k.Server5xx++
		case rc.status >= 400 && rc.accepted:
			k.Expected++
		case rc.status >= 400:
			k.Unexpected4xx++
		case !rc.accepted:
			k.OtherUnexpected++
		}
		if !rc.accepted {
			k.Codes[strings.TrimSpace(strconv.Itoa(rc.status)+" "+rc.code)]++
		}
	}
	k.P50, k.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return k
}

func (k kindStats) errors() int {
	return k.Server5xx + k.Unexpected4xx + k.NoAnswer + k.OtherUnexpected
}

// simulatorKind: requests to the payment simulator, not to the server.
func simulatorKind(kind string) bool { return strings.HasPrefix(kind, "simulator") }

func (r *soakReport) kinds() (server []kindStats, sim []kindStats, total kindStats) {
	names := make([]string, 0, len(r.Requests))
	for k := range r.Requests {
		names = append(names, k)
	}
	sort.Strings(names)
	var all []reqRecord
	for _, n := range names {
		k := statsOf(n, r.Requests[n])
		if simulatorKind(n) {
			sim = append(sim, k)
			continue
		}
		server = append(server, k)
		all = append(all, r.Requests[n]...)
	}
	return server, sim, statsOf("all requests to the server", all)
}

// windowLatency is the p50 and p99 of the server's answers in a window.
func (r *soakReport) windowLatency(from, to time.Duration) (int, time.Duration, time.Duration) {
	var lat []time.Duration
	for k, recs := range r.Requests {
		if simulatorKind(k) {
			continue
		}
		for _, rc := range recs {
			if rc.at >= from && rc.at <= to {
				lat = append(lat, rc.dur)
			}
		}
	}
	return len(lat), quantile(lat, 0.5), quantile(lat, 0.99)
}

func (r *soakReport) problems() []string {
	var p []string
	server, sim, total := r.kinds()
	for _, k := range append(server, sim...) {
		if k.errors() > 0 {
			var codes []string
			for c, n := range k.Codes {
				codes = append(codes, fmt.Sprintf("%s ×%d", c, n))
			}
			sort.Strings(codes)
			p = append(p, fmt.Sprintf("%s: %d unexpected answers (%s)", k.Kind, k.errors(), strings.Join(codes, ", ")))
		}
	}
	if total.N == 0 {
		p = append(p, "no requests were made")
	}
	if r.Flows.Dropped > 0 {
		p = append(p, fmt.Sprintf("%d flows dropped: %d were in flight, the server fell behind", r.Flows.Dropped, soakMaxInFlight))
	}
	if r.Flows.FlowErrors > 0 {
		p = append(p, fmt.Sprintf("%d flows failed (last: %s)", r.Flows.FlowErrors, r.Flows.LastFlowError))
	}
	bad := 0
	for _, s := range r.Samples {
		if len(s.Err) > 0 {
			bad++
		}
	}
	if bad > 0 {
		p = append(p, fmt.Sprintf("%d of %d samples could not be read", bad, len(r.Samples)))
	}
	figs := r.figures()
	if figs == nil {
		p = append(p, "the start or end window has no samples")
	}
	for _, f := range figs {
		if f.grew {
			p = append(p, fmt.Sprintf("%s grew from %s to %s", f.name, f.show(f.start), f.show(f.end)))
		}
	}
	fin := r.Finance
	switch {
	case fin.Err != "":
		p = append(p, "finance check: "+fin.Err)
	case int64(fin.Postings) != fin.Paid || fin.Exported != fin.Postings:
		p = append(p, fmt.Sprintf("finance: %d payments confirmed, %d postings, %d exported", fin.Paid, fin.Postings, fin.Exported))
	}
	if fin.Dead > 0 {
		p = append(p, fmt.Sprintf("%d outbox entries are dead letters", fin.Dead))
	}
	scrape := 0
	for _, s := range r.Samples {
		if s.RecordScrapeErrors > 0 {
			scrape++
		}
	}
	if scrape > 0 {
		p = append(p, fmt.Sprintf("in %d samples the server could not read its record for the metrics (termin_record_scrape_errors)", scrape))
	}
	if n := len(r.Samples); n > 0 {
		if last := r.Samples[n-1]; last.RedisErrors > r.Samples[0].RedisErrors {
			p = append(p, fmt.Sprintf("%.0f Redis errors during the soak", last.RedisErrors-r.Samples[0].RedisErrors))
		}
	}
	return p
}

func (r *soakReport) passed() bool { return len(r.problems()) == 0 }

func (f windowFigure) show(v float64) string {
	if f.mib {
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (f windowFigure) tolerance() string {
	if f.info {
		return "shown only"
	}
	var parts []string
	if f.rel > 0 {
		parts = append(parts, fmt.Sprintf("+%.0f%%", f.rel*100))
	}
	if f.abs > 0 || f.rel == 0 {
		parts = append(parts, fmt.Sprintf("+%.0f", f.abs))
	}
	if len(parts) == 2 {
		return parts[0] + " (at least " + parts[1] + ")"
	}
	if parts[0] == "+0" {
		return "equal"
	}
	return parts[0]
}

func (f windowFigure) change() string {
	d := f.end - f.start
	s := ""
	if f.mib {
		s = fmt.Sprintf("%+.1f MiB", d/(1<<20))
	} else {
		s = strconv.FormatFloat(d, 'f', -1, 64)
		if d > 0 {
			s = "+" + s
		}
	}
	if f.start > 0 {
		s += fmt.Sprintf(" (%+.0f%%)", 100*d/f.start)
	}
	return s
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) + " s" }

func (r *soakReport) markdown() string {
	var b strings.Builder
	o := r.Options
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Soak test\n\n")
	w("Written by `%s` (deploy/soak.sh, deploy/loadgen/soak.go) on %s: %s of steady mixed load against one server\n",
		o.command, r.When.Format("2006-01-02 15:04 UTC"), o.duration)
	w("process started as `make run` starts it (private PostgreSQL, Redis and Mailpit from deploy/stack.sh, the payment-platform\n")
	w("simulator, the simulated counter kiosk, METRICS_ADDR set), all on loopback.\n\n")
	w("Machine: %d cores, %s, %s, %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n",
		r.Machine.Cores, r.Machine.CPU, r.Machine.OS, r.Machine.Go, r.Machine.LoadAvg, r.MachineEnd.LoadAvg)
	if busy(r.Machine, r.MachineEnd) {
		w("The machine was busy with other work during the run (a load average above its %d cores), so latencies are\n", r.Machine.Cores)
		w("higher than on a machine of its own; the start and end figures come from the same run and stay comparable.\n")
	}
	w("\n")

	problems := r.problems()
	if len(problems) == 0 {
		w("**Verdict: no growth beyond noise, and no errors.** Every end figure is within its tolerance of the start,\n")
		w("no request was answered with a 5xx or an unexpected 4xx, and every confirmed payment was posted and exported.\n\n")
	} else {
		w("**Verdict: FAILED.**\n\n")
		for _, p := range problems {
			w("- %s\n", p)
		}
		w("\n")
	}

	a, bb := r.startWindow()
	c, d := r.endWindow()
	w("## Start and end\n\n")
	w("Samples every %s. Start window %s–%s after the load began (after a warm-up of %s), end window %s–%s.\n",
		r.Every, secs(a), secs(bb), o.warmup, secs(c), secs(d))
	w("Memory and goroutines are the median of a window's samples, connections its maximum (pools open connections\n")
	w("on demand), PostgreSQL connections in use its minimum (a leaked connection stays in use). The server keeps a\n")
	w("goroutine and a descriptor for each of the load generator's keep-alive connections, as many as requests were in\n")
	w("flight at the busiest recent moment: goroutines and descriptors are judged without them, and those the client\n")
	w("closed but the server kept (CLOSE_WAIT) must not grow. Tolerance: how much the end may exceed the start; less\n")
	w("at the end is never a failure.\n\n")
	w("| figure | start | end | change | tolerance | |\n|---|---:|---:|---:|---|---|\n")
	for _, f := range r.figures() {
		verdict := "ok"
		if f.info {
			verdict = ""
		}
		if f.grew {
			verdict = "**grew**"
		}
		w("| %s (%s) | %s | %s | %s | %s | %s |\n", f.name, f.agg, f.show(f.start), f.show(f.end), f.change(), f.tolerance(), verdict)
	}
	w("\n")

	server, sim, total := r.kinds()
	rate := float64(total.N) / r.Options.duration.Seconds()
	w("## Requests\n\n")
	w("Open loop at about %.0f requests/s to the server (asked for %.0f; %.1f/s measured over the run), from %d kinds of\n",
		o.rps, o.rps, rate, len(soakFlows))
	w("visitors each on its own clock. Expected 4xx are the ones a flow allows: 409 `queue_empty` when staff call\n")
	w("and nobody waits, 409 `slot_full` when another citizen held the last unit first, 428 `challenge_required`\n")
	w("when the server asks for a proof of work. Every other 4xx, every 5xx and every request without an answer is an error.\n\n")
	w("| kind | requests | 5xx | unexpected 4xx | no answer | expected 4xx | p50 | p99 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range append(server, total) {
		name := k.Kind
		if k.Kind == total.Kind {
			name = "**" + name + "**"
		}
		w("| %s | %d | %d | %d | %d | %d | %s | %s |\n", name, k.N, k.Server5xx, k.Unexpected4xx+k.OtherUnexpected, k.NoAnswer, k.Expected, ms(k.P50), ms(k.P99))
	}
	errRate := 0.0
	if total.N > 0 {
		errRate = 100 * float64(total.errors()) / float64(total.N)
	}
	w("\nError rate: %.2f%% (%d of %d).", errRate, total.errors(), total.N)
	if n := len(r.Samples); n > 0 {
		w(" The server's own count (termin_http_request_duration_seconds) at the last sample: %.0f requests.", r.Samples[n-1].ServerRequests)
	}
	w("\n\n")
	if len(sim) > 0 {
		w("Requests to the payment simulator (the citizen's browser on the pay page):\n\n")
		w("| kind | requests | errors | p50 | p99 |\n|---|---:|---:|---:|---:|\n")
		for _, k := range sim {
			w("| %s | %d | %d | %s | %s |\n", k.Kind, k.N, k.errors(), ms(k.P50), ms(k.P99))
		}
		w("\n")
	}
	n1, p50a, p99a := r.windowLatency(a, bb)
	n2, p50b, p99b := r.windowLatency(c, d)
	w("Latency of the server in the start window: p50 %s, p99 %s (%d requests); in the end window: p50 %s, p99 %s (%d requests).\n\n",
		ms(p50a), ms(p99a), n1, ms(p50b), ms(p99b), n2)

	fl := r.Flows
	fin := r.Finance
	w("## What the load did\n\n")
	w("- bookings made: %d, of them paid online at the simulator and confirmed: %d; cancelled with the manage token: %d\n", fl.Booked, fl.Paid, fl.Cancelled)
	w("- payment postings in PostgreSQL: %d, exported to the finance system's files: %d (%d files); posting deliveries waiting: %d; dead letters: %d\n",
		fin.Postings, fin.Exported, fin.Files, fin.OutboxPending, fin.Dead)
	w("- kiosk: %d walk-in tickets, %d check-ins of today's appointments; staff called and served %d numbers\n", fl.WalkIns, fl.CheckIns, fl.Called)
	w("- flows dropped for too many in flight: %d; flows that failed: %d\n\n", fl.Dropped, fl.FlowErrors)

	if n := len(r.Samples); n > 0 {
		last := r.Samples[n-1]
		w("At the last sample the server's metrics showed %.0f outbox entries waiting (termin_outbox_pending), %.0f dead letters\n", last.OutboxPending, last.DeadLetters)
		w("(termin_outbox_dead_letters) and %.0f payments stuck (termin_payments_stuck).\n\n", last.Stuck)
	}
	scale := o.rps / r.NominalRPS
	w("The mix, scaled from its nominal %.0f requests/s to the %.0f asked for:\n\n| flow | per second | requests each |\n|---|---:|---:|\n", r.NominalRPS, o.rps)
	for _, f := range soakFlows {
		w("| %s | %.2f | %.1f |\n", f.name, f.perSec*scale, f.requests)
	}
	w("\nRun it again with `make soak` (SOAK_DURATION=30s for a short check, SOAK_RPS for another rate).\n")
	return b.String()
}

func busy(machines ...machineInfo) bool {
	for _, m := range machines {
		if f := strings.Fields(m.LoadAvg); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil && v > float64(m.Cores) {
				return true
			}
		}
	}
	return false
}
