package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/account"
	auditpg "github.com/digitale-verwaltung/termin/audit/postgres"
	"github.com/digitale-verwaltung/termin/booking"
	bookingpg "github.com/digitale-verwaltung/termin/booking/postgres"
	bookingredis "github.com/digitale-verwaltung/termin/booking/redis"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/config"
	fairnessredis "github.com/digitale-verwaltung/termin/server/fairness/redis"
	"github.com/digitale-verwaltung/termin/server/metrics"
)

// serve is `server serve`: it runs the HTTP server, the payment and mail
// workers and the activation sweep until ctx ends (SIGTERM or interrupt),
// then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	d, err := newDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.holds.Preload(ctx); err != nil {
		log.Warn("preload redis scripts", "err", err)
	}
	if err := fairnessredis.New(d.rdb).Preload(ctx); err != nil {
		log.Warn("preload redis scripts", "err", err)
	}
	if cfg.Secret == "" {
		// Fine for a demo; with several replicas a challenge issued by one
		// would not verify on another only if their secrets differed, and
		// the hashes in Redis and PostgreSQL would be unkeyed.
		log.Warn("SECRET_KEY is not set; set the same secret on every replica in production")
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	if err := d.engine.Warm(ctx, cfg.WarmDays); err != nil {
		// Not fatal: days load lazily once Redis answers.
		log.Warn("warm redis from postgres", "err", err)
	}
	app := newApp(d)
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", d.metrics.Handler())
		stopMetrics, err := serveInternal("metrics", cfg.MetricsAddr, mux, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	w := newWorkers(log)
	// However serve ends, the workers finish their round before the
	// stores close (the deferred Close runs after this).
	defer w.Stop(context.Background())
	d.pay.start(w)
	if err := startMail(d, w); err != nil {
		return err
	}
	w.every("activation sweep", cfg.ActivationSweep, func(ctx context.Context) bool { sweepActivations(ctx, d); return false })
	w.every("staff sessions", 10*time.Minute, func(ctx context.Context) bool { expireSessions(ctx, d); return false })
	ret := d.retention()
	w.every("retention", cfg.RetentionEvery, func(ctx context.Context) bool { runRetention(ctx, ret, log); return false })
	w.every("signing keys", cfg.TicketKeysReload, d.tickets.round)
	w.run("catalog watch", func(ctx context.Context) { watchCatalog(ctx, d) })
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String())
	return run(ctx, app, ln, w, cfg.ShutdownTimeout, log)
}

// run serves app on ln until ctx ends (SIGTERM), then drains within
// timeout: the listener closes at once, open requests finish (each
// answered with Connection: close), event streams end, and the workers
// finish their current round, all at the same time. What is still open
// at the deadline is cut and logged as an error.
func run(ctx context.Context, app *fiber.App, ln net.Listener, w *workers, timeout time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	began := time.Now()
	log.Info("shutting down: draining requests, streams and workers", "timeout", timeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	workersDone := make(chan bool, 1)
	go func() { workersDone <- w.Stop(drainCtx) }()
	httpErr := app.ShutdownWithContext(drainCtx)
	if errors.Is(httpErr, context.DeadlineExceeded) {
		log.Error("shutdown deadline passed: open connections are cut", "open", app.Server().GetOpenConnectionsCount())
		httpErr = nil
	}
	if !<-workersDone {
		log.Error("shutdown deadline passed: worker rounds were cancelled")
	}
	log.Info("drained", "took", time.Since(began).Round(time.Millisecond))
	return httpErr
}

// deps are the long-lived pieces a server is built from.
type deps struct {
	cfg    config.Config
	db     *sqlx.DB
	rdb    redis.UniversalClient
	engine *booking.Engine
	holds  *bookingredis.Holds
	pg     *bookingpg.Store
	// tickets are the QR signing keys, read again now and then.
	tickets *ticketKeyring
	log     *slog.Logger
	// platform is the payment platform; nil when online payment is off.
	platform payment.Platform
	// pay is built by newApp from platform.
	pay *payments
	// accounts and audit are built by newApp: the staff accounts and the
	// audit log.
	accounts *account.Service
	audit    *auditpg.Store
	// live is built by newApp: the fan-out of queue changes to the
	// event streams of this replica.
	live *liveQueue
	// metrics is built by newApp.
	metrics *metrics.Metrics
}

func newDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (*deps, error) {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	d := &deps{cfg: cfg, db: db, rdb: newRedis(cfg.RedisAddrs), pg: bookingpg.New(db), log: log}
	if err := d.build(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// build makes the engine, loads the signing key and picks the platform.
func (d *deps) build(ctx context.Context) error {
	if err := d.useRedis(ctx, d.rdb); err != nil {
		return err
	}
	tickets, err := newTicketKeyring(ctx, d.cfg, d.pg, d.log)
	if err != nil {
		return err
	}
	d.tickets = tickets
	d.platform, err = newPlatform(d.cfg, d.log)
	return err
}

// useRedis (re)builds the booking engine on rdb.
func (d *deps) useRedis(ctx context.Context, rdb redis.UniversalClient) error {
	holds := bookingredis.New(rdb)
	holds.UseSnapshots(d.cfg.AvailabilitySnapshot)
	engine, err := booking.NewEngine(ctx, d.pg, holds, d.log)
	if err != nil {
		return err
	}
	if d.cfg.OneHold {
		engine.Holders = bookingredis.NewHolders(rdb)
	}
	d.rdb, d.holds, d.engine = rdb, holds, engine
	configureEngine(d.cfg, engine)
	return nil
}

func (d *deps) Close() {
	d.rdb.Close()
	d.db.Close()
}

// configureEngine applies the engine's settings from the configuration.
func configureEngine(cfg config.Config, e *booking.Engine) {
	e.HoldTTL = cfg.HoldTTL
	e.ContactKey = cfg.SubKey("contact")
	e.ContactLimits = map[string]int{booking.KindOffice: cfg.ContactLimitOffice, booking.KindPool: cfg.ContactLimitPool}
	e.ManageKey = cfg.ManageKey()
	e.ReminderBefore = cfg.ReminderBefore
}

func openDB(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect database: %w", err)
	}
	return db, nil
}

// newRedis returns a single-node client for one address and a cluster
// client for several. The cluster client reads the slot map again every
// second: after a master fails and its replica takes over, commands to the
// dead master fail without telling the client, so without a reload it
// would keep dialling the dead address for a minute (go-redis's default).
func newRedis(addrs []string) redis.UniversalClient {
	if len(addrs) > 1 {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                      addrs,
			PoolSize:                   64,
			DialTimeout:                2 * time.Second,
			ReadTimeout:                2 * time.Second,
			WriteTimeout:               2 * time.Second,
			MaxRetries:                 1,
			ClusterStateReloadInterval: time.Second,
		})
	}
	return redis.NewClient(&redis.Options{
		Addr:         addrs[0],
		PoolSize:     64,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   1,
	})
}
