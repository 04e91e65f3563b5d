package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
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
	d.pay.start(ctx)
	// The mail worker and the sweep stop and finish their round before
	// the stores close (defers run last first).
	var workers sync.WaitGroup
	defer workers.Wait()
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	if err := startMail(workCtx, d, &workers); err != nil {
		return err
	}
	workers.Add(1)
	go func() { defer workers.Done(); sweepActivations(workCtx, d) }()
	workers.Add(1)
	go func() { defer workers.Done(); expireSessions(workCtx, d) }()
	workers.Add(1)
	go func() { defer workers.Done(); d.retention().Run(workCtx) }()
	workers.Add(1)
	go func() { defer workers.Done(); watchCatalog(workCtx, d) }()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String())
	return run(ctx, app, ln, log)
}

// run serves app on ln until ctx ends, then drains the open requests.
func run(ctx context.Context, app *fiber.App, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.ShutdownWithContext(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// deps are the long-lived pieces a server is built from.
type deps struct {
	cfg        config.Config
	db         *sqlx.DB
	rdb        redis.UniversalClient
	engine     *booking.Engine
	holds      *bookingredis.Holds
	pg         *bookingpg.Store
	signingKey ed25519.PrivateKey
	log        *slog.Logger
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
	key, err := d.pg.SigningKey(ctx)
	if err != nil {
		return err
	}
	d.signingKey = key
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
