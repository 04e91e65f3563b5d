package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
)

// reqRecord is one answer of the server (or the payment simulator).
type reqRecord struct {
	at, dur  time.Duration // since the start of the load; how long it took
	status   int           // 0: no answer (connection error, timeout)
	code     string        // the error code of a 4xx or 5xx
	accepted bool          // the flow expected this status
}

type recorder struct {
	mu     sync.Mutex
	byKind map[string][]reqRecord
}

func (r *recorder) add(kind string, at, dur time.Duration, status int, code string, accepted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKind == nil {
		r.byKind = map[string][]reqRecord{}
	}
	r.byKind[kind] = append(r.byKind[kind], reqRecord{at, dur, status, code, accepted})
}

func (r *recorder) snapshot() map[string][]reqRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]reqRecord, len(r.byKind))
	for k, v := range r.byKind {
		out[k] = append([]reqRecord(nil), v...)
	}
	return out
}

// sample is what the probe saw at one moment.
type sample struct {
	At  time.Duration
	Err []string
	// from the server's /metrics
	RSS, HeapInuse, HeapAlloc, Goroutines, FDs float64
	SQLOpen, SQLInUse, SQLIdle, SQLWaits       float64
	RedisPool                                  float64
	ServerRequests                             float64
	OutboxPending, DeadLetters, Stuck          float64
	RedisErrors                                float64
	// RecordScrapeErrors counts the parts of the record the server could
	// not read for its metrics (termin_record_scrape_errors).
	RecordScrapeErrors float64
	// from PostgreSQL and Redis themselves
	PGBackends, RedisClients float64
	// the server's TCP sockets from /proc, by the other end
	Sockets map[string]float64
}

// probe reads the server's vitals from its metrics listener, /proc,
// pg_stat_activity and Redis INFO.
type probe struct {
	o       soakOptions
	client  *http.Client
	db      *sqlx.DB
	rdb     *redis.Client
	classes map[string]map[int]string // "local"/"remote" port -> socket class
}

func portOf(hostport string) int {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func urlPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	return portOf(u.Host)
}

func newProbe(ctx context.Context, o soakOptions) (*probe, error) {
	p := &probe{o: o, client: &http.Client{Timeout: 10 * time.Second},
		classes: map[string]map[int]string{"local": {}, "remote": {}}}
	p.classes["local"][urlPort(o.server)] = "HTTP clients"
	p.classes["local"][urlPort(o.metrics)] = "metrics scrapes"
	p.classes["remote"][urlPort(o.paysim)] = "payment platform"
	p.classes["remote"][portOf(o.redisAddr)] = "Redis"
	if o.smtpAddr != "" {
		p.classes["remote"][portOf(o.smtpAddr)] = "SMTP"
	}
	if o.db != "" {
		db, err := sqlx.Open("postgres", o.db)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if err := db.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("PostgreSQL: %w", err)
		}
		p.db = db
		if u, err := url.Parse(o.db); err == nil {
			port := u.Port()
			if port == "" {
				port = "5432"
			}
			n, _ := strconv.Atoi(port)
			p.classes["remote"][n] = "PostgreSQL"
		}
	}
	if o.redisAddr != "" {
		p.rdb = redis.NewClient(&redis.Options{Addr: o.redisAddr, PoolSize: 1})
		if err := p.rdb.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	if sm := p.take(ctx); len(sm.Err) > 0 {
		return nil, fmt.Errorf("probe: %s", strings.Join(sm.Err, "; "))
	}
	return p, nil
}

func (p *probe) close() {
	if p.db != nil {
		p.db.Close()
	}
	if p.rdb != nil {
		p.rdb.Close()
	}
}

// parseMetrics sums the samples of every metric name in the Prometheus
// text format (the soak's metrics have one series each, or are summed
// over their labels on purpose).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			rest = rest[j+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

func (p *probe) take(ctx context.Context) sample {
	var sm sample
	fail := func(part string, err error) { sm.Err = append(sm.Err, part+": "+err.Error()) }
	req, _ := http.NewRequestWithContext(ctx, "GET", p.o.metrics, nil)
	if res, err := p.client.Do(req); err != nil {
		fail("metrics", err)
	} else {
		m, err := parseMetrics(res.Body)
		res.Body.Close()
		if err != nil {
			fail("metrics", err)
		}
		if res.StatusCode != 200 {
			fail("metrics", fmt.Errorf("%s", res.Status))
		}
		sm.RSS, sm.HeapInuse, sm.HeapAlloc = m["process_resident_memory_bytes"], m["go_memstats_heap_inuse_bytes"], m["go_memstats_heap_alloc_bytes"]
		sm.Goroutines, sm.FDs = m["go_goroutines"], m["process_open_fds"]
		sm.SQLOpen, sm.SQLInUse, sm.SQLIdle = m["go_sql_open_connections"], m["go_sql_in_use_connections"], m["go_sql_idle_connections"]
		sm.SQLWaits = m["go_sql_wait_count_total"]
		sm.RedisPool = m["termin_redis_pool_connections"]
		sm.ServerRequests = m["termin_http_request_duration_seconds_count"]
		sm.OutboxPending, sm.DeadLetters, sm.Stuck = m["termin_outbox_pending"], m["termin_outbox_dead_letters"], m["termin_payments_stuck"]
		sm.RedisErrors = m["termin_redis_errors_total"]
		sm.RecordScrapeErrors = m["termin_record_scrape_errors"]
	}
	if p.db != nil {
		if err := p.db.GetContext(ctx, &sm.PGBackends, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`); err != nil {
			fail("pg_stat_activity", err)
		}
	}
	if p.rdb != nil {
		info, err := p.rdb.Info(ctx, "clients").Result()
		if err != nil {
			fail("redis INFO", err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); ok {
				n, _ := strconv.ParseFloat(v, 64)
				sm.RedisClients = n - 1 // not this probe's own connection
			}
		}
	}
	if p.o.serverPID > 0 {
		socks, err := p.sockets(p.o.serverPID)
		if err != nil {
			fail("sockets", err)
		}
		sm.Sockets = socks
	}
	return sm
}

// sockets counts the open TCP sockets of process pid by what is at the
// other end, from /proc/PID/fd and the process's /proc/PID/net/tcp{,6}.
func (p *probe) sockets(pid int) (map[string]float64, error) {
	dir := fmt.Sprintf("/proc/%d", pid)
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(dir + "/fd/" + fd.Name())
		if err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	out := map[string]float64{}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(dir + "/net/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !mine[f[9]] || f[3] == "0A" { // 0A: listening
				continue
			}
			local, remote := hexPort(f[1]), hexPort(f[2])
			class := "other"
			if c, ok := p.classes["local"][local]; ok {
				class = c
			} else if c, ok := p.classes["remote"][remote]; ok {
				class = c
			}
			out[class]++
			if f[3] == "08" { // CLOSE_WAIT: the other end closed, the server did not
				out[class+" (CLOSE_WAIT)"]++
			}
		}
	}
	return out, nil
}

func hexPort(addr string) int {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(p, 16, 32)
	return int(n)
}

// financeResult says whether the paid bookings reached the treasury.
type financeResult struct {
	Paid          int64 // payments the soak saw confirmed
	Postings      int   // payment postings in PostgreSQL (only the soak pays)
	Exported      int   // of them, rows in the export files
	OutboxPending int   // posting deliveries still waiting
	Dead          int   // outbox entries given up
	Files         int
	Err           string
}

// finance waits (at most half a minute) until the export worker has
// written every posting of the soak's paid bookings to the export files.
func (p *probe) finance(ctx context.Context, paid int64) financeResult {
	r := financeResult{Paid: paid}
	if p.db == nil || p.o.exportDir == "" {
		r.Err = "no database or export directory given"
		return r
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.Err = ""
		if err := p.db.GetContext(ctx, &r.Postings, `SELECT count(*) FROM postings WHERE kind = 'payment'`); err != nil {
			r.Err = err.Error()
		}
		if err := p.db.GetContext(ctx, &r.OutboxPending, `SELECT count(*) FROM payment_outbox WHERE state = 'pending' AND kind LIKE 'posting%'`); err != nil {
			r.Err = err.Error()
		}
		if err := p.db.GetContext(ctx, &r.Dead, `SELECT count(*) FROM payment_outbox WHERE state = 'dead'`); err != nil {
			r.Err = err.Error()
		}
		n, files, err := exportedRows(p.o.exportDir)
		if err != nil {
			r.Err = err.Error()
		}
		r.Exported, r.Files = n, files
		if r.Err == "" && r.Exported >= r.Postings && int64(r.Postings) >= paid && r.OutboxPending == 0 || time.Now().After(deadline) {
			return r
		}
		time.Sleep(2 * time.Second)
	}
}

// exportedRows counts the postings (Satzart B) in the export files of dir.
func exportedRows(dir string) (int, int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "termin-buchungen-*.csv"))
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return n, len(files), err
		}
		cr := csv.NewReader(f)
		cr.Comma = ';'
		cr.FieldsPerRecord = -1
		recs, err := cr.ReadAll()
		f.Close()
		if err != nil {
			return n, len(files), fmt.Errorf("%s: %w", name, err)
		}
		for _, rec := range recs {
			if len(rec) > 0 && rec[0] == "B" {
				n++
			}
		}
	}
	return n, len(files), nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
