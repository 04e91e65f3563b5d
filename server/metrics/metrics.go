// Package metrics is the server's Prometheus instrumentation: request
// latency by route and status, the outcomes of holds and bookings,
// Redis and PostgreSQL errors and pool use, and gauges read from the
// record at scrape time (payments by state, stuck payments, outbox lag
// and dead letters per kind, the mail outbox, kiosk devices online and
// their printers, waiting-room lengths). Routes are labelled by their
// pattern (/api/v1/bookings/:code), never by the path, so no booking code
// or token reaches a label.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/payment"
)

// Metrics holds the server's collectors in a registry of its own.
type Metrics struct {
	reg        *prometheus.Registry
	collectors []prometheus.Collector
	requests   *prometheus.HistogramVec
	outcomes   *prometheus.CounterVec
	redisErr   *prometheus.CounterVec
}

// New registers the request, outcome and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "termin_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern, method and status.",
		Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "status"})
	m.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termin_outcomes_total",
		Help: "Holds, bookings, cancellations and payment returns by outcome (the HTTP status they were answered with).",
	}, []string{"action", "status"})
	m.redisErr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termin_redis_errors_total",
		Help: "Redis commands and pipelines that failed (a missing key is no error).",
	}, []string{"kind"})
	m.Register(m.requests)
	m.Register(m.outcomes)
	m.Register(m.redisErr)
	m.Register(collectors.NewGoCollector())
	m.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds a collector, e.g. one of a store the server wires.
func (m *Metrics) Register(c prometheus.Collector) {
	m.reg.MustRegister(c)
	m.collectors = append(m.collectors, c)
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the name of every metric family the server exports, for
// checking dashboards and alert rules against it.
func Names() []string {
	m := New()
	m.Pools(nil, nil)
	m.Register(&Record{})
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		for _, c := range m.collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		if n := fqName.FindStringSubmatch(d.String()); n != nil {
			out = append(out, n[1])
		}
	}
	return out
}

// actions names the routes whose outcomes are counted.
var actions = map[string]string{
	"POST /api/v1/holds":                            "hold",
	"POST /:location/reservieren":                   "hold",
	"POST /api/v1/bookings":                         "booking",
	"POST /reservierung/:ticket/buchen":             "booking",
	"DELETE /api/v1/bookings/:code":                 "cancellation",
	"POST /termin/:code/stornieren":                 "cancellation",
	"POST /api/v1/payments/notifications":           "payment_notification",
	"GET /zahlung/:reference":                       "payment_return",
	"POST /api/v1/kiosk/check-ins":                  "check_in",
	"POST /api/v1/kiosk/redemptions":                "admission",
	"POST /api/v1/kiosk/walk-ins":                   "walk_in",
	"POST /api/v1/staff/locations/:id/call":         "call",
	"POST /api/v1/finance/reconciliations":          "reconciliation",
	"POST /intern/schalter/aufrufen":                "call",
	"POST /intern/kasse/abgleich":                   "reconciliation",
	"POST /api/v1/waiting-rooms/:location/position": "waiting_room_join",
}

// Middleware times every request and counts the outcomes of the routes
// in actions. It answers a handler's error itself (through the app's
// error handler) so the status it records is the one the client gets.
func (m *Metrics) Middleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	// The framework's strings point into buffers it reuses: the labels
	// must own theirs.
	route, method := strings.Clone(c.Route().Path), strings.Clone(c.Method())
	status := strconv.Itoa(c.Response().StatusCode())
	m.requests.WithLabelValues(route, method, status).Observe(time.Since(start).Seconds())
	if a, ok := actions[method+" "+route]; ok {
		m.outcomes.WithLabelValues(a, status).Inc()
	}
	return nil
}

// answered reports an error that is an answer its caller acts on rather
// than a failure of Redis: a missing key (redis.Nil), a day the hold
// scripts have not loaded yet (ERR NOTLOADED: the server loads it from
// PostgreSQL and asks again), a script not cached (NOSCRIPT: go-redis sends
// it again), and the CLIENT SETINFO with which go-redis names itself on
// every new connection, which Redis before 7.2 refuses and go-redis
// ignores. Counting these made every new connection and every first hold
// of a day beyond WARM_DAYS look like a Redis error.
func answered(cmd redis.Cmder, err error) bool {
	if errors.Is(err, redis.Nil) {
		return true
	}
	msg := err.Error()
	if strings.Contains(msg, "NOTLOADED") || strings.HasPrefix(msg, "NOSCRIPT") {
		return true
	}
	args := cmd.Args()
	return len(args) >= 2 && strings.EqualFold(fmt.Sprint(args[0]), "client") && strings.EqualFold(fmt.Sprint(args[1]), "setinfo")
}

// RedisHook counts failed Redis commands and pipelines.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && !answered(cmd, err) {
			h.m.redisErr.WithLabelValues("command").Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil {
			return nil
		}
		failed := len(cmds) == 0
		for _, c := range cmds {
			failed = failed || (c.Err() != nil && !answered(c, c.Err()))
		}
		if failed {
			h.m.redisErr.WithLabelValues("pipeline").Inc()
		}
		return err
	}
}

// Pools exports the PostgreSQL connection pool (open, in use, waits) and
// the Redis pool (connections, hits, misses, timeouts).
func (m *Metrics) Pools(db *sql.DB, rdb redis.UniversalClient) {
	m.Register(collectors.NewDBStatsCollector(db, "termin"))
	gauge := func(name, help string, f func(*redis.PoolStats) float64) {
		m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(rdb.PoolStats()) }))
	}
	gauge("termin_redis_pool_connections", "Redis connections open.", func(s *redis.PoolStats) float64 { return float64(s.TotalConns) })
	gauge("termin_redis_pool_idle_connections", "Redis connections idle.", func(s *redis.PoolStats) float64 { return float64(s.IdleConns) })
	m.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "termin_redis_pool_timeouts_total",
		Help: "Times a Redis connection could not be had in time."}, func() float64 { return float64(rdb.PoolStats().Timeouts) }))
}

// Record reads the vitals of the booking and payment records at every
// scrape (each a few index-only counts), within a two-second deadline.
type Record struct {
	Booking func(ctx context.Context, now time.Time) (booking.Vitals, error)
	Payment func(ctx context.Context, now time.Time) (payment.Vitals, error)
	// WaitingRooms returns the number of citizens waiting per location;
	// nil when no waiting room exists.
	WaitingRooms func(ctx context.Context) (map[string]int, error)
	Log          *slog.Logger
}

var (
	descPayments      = prometheus.NewDesc("termin_payments", "Payments by state.", []string{"state"}, nil)
	descStuck         = prometheus.NewDesc("termin_payments_stuck", "Payments still initiated after their timeout and grace.", nil, nil)
	descOutboxPending = prometheus.NewDesc("termin_outbox_pending", "Outbox entries waiting, by kind.", []string{"kind"}, nil)
	descOutboxDead    = prometheus.NewDesc("termin_outbox_dead_letters", "Outbox entries given up (dead letters), by kind.", []string{"kind"}, nil)
	descOutboxLag     = prometheus.NewDesc("termin_outbox_lag_seconds", "Age of the oldest due outbox entry, by kind (mail: citizens' mails).", []string{"kind"}, nil)
	descMails         = prometheus.NewDesc("termin_mails", "Citizens' mails by kind and state (pending, dead).", []string{"kind", "state"}, nil)
	descDevices       = prometheus.NewDesc("termin_devices", "Kiosk and entrance devices: enrolled and online.", []string{"state"}, nil)
	descPrinters      = prometheus.NewDesc("termin_device_printers", "Printers of online devices by state.", []string{"state"}, nil)
	descWaiting       = prometheus.NewDesc("termin_waiting_room_length", "Citizens waiting in a waiting room, by location.", []string{"location"}, nil)
	descScrapeErrors  = prometheus.NewDesc("termin_record_scrape_errors", "1 when reading the record for these metrics failed.", []string{"part"}, nil)
)

// Describe implements prometheus.Collector.
func (r *Record) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPayments, descStuck, descOutboxPending, descOutboxDead, descOutboxLag,
		descMails, descDevices, descPrinters, descWaiting, descScrapeErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (r *Record) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	failed := func(part string, err error) {
		v := 0.0
		if err != nil {
			v = 1
			r.Log.Warn("metrics: read the record", "part", part, "err", err)
		}
		ch <- prometheus.MustNewConstMetric(descScrapeErrors, prometheus.GaugeValue, v, part)
	}
	if r.Payment != nil {
		v, err := r.Payment(ctx, now)
		failed("payment", err)
		for state, n := range v.Payments {
			ch <- prometheus.MustNewConstMetric(descPayments, prometheus.GaugeValue, float64(n), state)
		}
		if err == nil {
			ch <- prometheus.MustNewConstMetric(descStuck, prometheus.GaugeValue, float64(v.Stuck))
		}
		for _, kind := range []string{"platform_confirm", "refund", "posting_file", "posting_http"} {
			o := v.Outbox[kind]
			ch <- prometheus.MustNewConstMetric(descOutboxPending, prometheus.GaugeValue, float64(o.Pending), kind)
			ch <- prometheus.MustNewConstMetric(descOutboxDead, prometheus.GaugeValue, float64(o.Dead), kind)
			ch <- prometheus.MustNewConstMetric(descOutboxLag, prometheus.GaugeValue, o.Lag.Seconds(), kind)
		}
	}
	if r.Booking != nil {
		v, err := r.Booking(ctx, now)
		failed("booking", err)
		dead := 0
		for kind, n := range v.MailPending {
			ch <- prometheus.MustNewConstMetric(descMails, prometheus.GaugeValue, float64(n), kind, "pending")
		}
		for kind, n := range v.MailDead {
			dead += n
			ch <- prometheus.MustNewConstMetric(descMails, prometheus.GaugeValue, float64(n), kind, "dead")
		}
		ch <- prometheus.MustNewConstMetric(descOutboxLag, prometheus.GaugeValue, v.MailLag.Seconds(), "mail")
		ch <- prometheus.MustNewConstMetric(descOutboxDead, prometheus.GaugeValue, float64(dead), "mail")
		ch <- prometheus.MustNewConstMetric(descDevices, prometheus.GaugeValue, float64(v.DevicesEnrolled), "enrolled")
		ch <- prometheus.MustNewConstMetric(descDevices, prometheus.GaugeValue, float64(v.DevicesOnline), "online")
		for _, state := range []string{"ok", "paper_low", "paper_out", "cover_open", "offline", "disconnected", "none"} {
			ch <- prometheus.MustNewConstMetric(descPrinters, prometheus.GaugeValue, float64(v.Printers[state]), state)
		}
	}
	if r.WaitingRooms != nil {
		rooms, err := r.WaitingRooms(ctx)
		failed("waiting_room", err)
		for loc, n := range rooms {
			ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(n), loc)
		}
	}
}

// CountedRoutes lists the "METHOD /pattern" routes whose outcomes are
// counted, for a test that each is mounted.
func CountedRoutes() []string {
	out := make([]string, 0, len(actions))
	for r := range actions {
		out = append(out, r)
	}
	return out
}
