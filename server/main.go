// Command server is termin's server: the HTTP API, web pages, staff and
// finance views and background workers.
//
//	server [serve]   run the HTTP server (default)
//	server migrate   apply the database migrations
//	server seed      load a city file (the demo city when none is given)
//	server paysim    run the payment-platform simulator (PAYSIM_ADDR)
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/migrate"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

//go:embed democity.json
var demoCity []byte

// config is read from flags, falling back to environment variables, then
// to defaults that make the demo run with nothing set.
type config struct {
	HTTPAddr    string
	DatabaseURL string
	RedisAddrs  []string
	HoldTTL     time.Duration
	CityFile    string
	WarmDays    int
	LogLevel    string
	// AdminAPIKey guards the staff, administrator and finance endpoints
	// until staff accounts exist; they are closed when it is empty.
	AdminAPIKey string
	// GateEarly and GateLate widen a ticket's slot at the entrance.
	GateEarly, GateLate time.Duration
	// CheckInEarly and CheckInLate bound an appointment's check-in at the
	// counter kiosk around its start.
	CheckInEarly, CheckInLate time.Duration
	PprofAddr                 string
	// Secret keys the proof-of-work signatures and the hashes that stand
	// for client addresses and e-mail addresses; replicas must share it.
	Secret string

	RateLimit      float64
	RateBurst      int
	ClientIPHeader string

	ContactLimitOffice int
	ContactLimitPool   int

	PowLocations []string
	PowAuto      int
	PowBits      int
	PowTTL       time.Duration
	// Pay configures online payment and the treasury (payment.go).
	Pay payConfig
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(env(name, "")); err == nil {
		return n
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if f, err := strconv.ParseFloat(env(name, ""), 64); err == nil {
		return f
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func parseConfig(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.StringVar(&cfg.HTTPAddr, "http", env("HTTP_ADDR", "127.0.0.1:8080"), "listen address (HTTP_ADDR)")
	fs.StringVar(&cfg.DatabaseURL, "db", env("DATABASE_URL", "postgres://termin@127.0.0.1:5432/termin?sslmode=disable"), "PostgreSQL URL (DATABASE_URL)")
	redisAddrs := fs.String("redis", env("REDIS_ADDR", "127.0.0.1:6379"), "Redis address; several, comma-separated, mean a Redis Cluster (REDIS_ADDR)")
	fs.DurationVar(&cfg.HoldTTL, "hold-ttl", envDuration("HOLD_TTL", 10*time.Minute), "how long an unconfirmed hold lives (HOLD_TTL)")
	fs.StringVar(&cfg.CityFile, "city", env("CITY_FILE", ""), "city file for seed; the built-in demo city when empty (CITY_FILE)")
	fs.IntVar(&cfg.WarmDays, "warm-days", 14, "days ahead loaded into Redis at start")
	fs.StringVar(&cfg.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&cfg.AdminAPIKey, "admin-api-key", env("ADMIN_API_KEY", ""), "bearer key for staff, admin and finance endpoints; empty closes them (ADMIN_API_KEY)")
	fs.DurationVar(&cfg.CheckInEarly, "checkin-early", envDuration("CHECKIN_EARLY", 30*time.Minute), "how long before an appointment the kiosk checks it in (CHECKIN_EARLY)")
	fs.DurationVar(&cfg.CheckInLate, "checkin-late", envDuration("CHECKIN_LATE", 15*time.Minute), "how long after an appointment's start the kiosk still checks it in (CHECKIN_LATE)")
	fs.DurationVar(&cfg.GateEarly, "gate-early", envDuration("GATE_EARLY", 15*time.Minute), "how long before its slot a ticket admits (GATE_EARLY)")
	fs.DurationVar(&cfg.GateLate, "gate-late", envDuration("GATE_LATE", 30*time.Minute), "how long after its slot ends a ticket still admits (GATE_LATE)")
	fs.StringVar(&cfg.PprofAddr, "pprof", env("PPROF_ADDR", ""), "serve net/http/pprof on this address; off when empty (PPROF_ADDR)")
	cfg.Secret = env("SECRET_KEY", "")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", envFloat("RATE_LIMIT", 1), "holds and bookings per second per client in the long run; 0 switches the limit off (RATE_LIMIT)")
	fs.IntVar(&cfg.RateBurst, "rate-burst", envInt("RATE_BURST", 20), "holds and bookings a client may make at once (RATE_BURST)")
	fs.StringVar(&cfg.ClientIPHeader, "client-ip-header", env("CLIENT_IP_HEADER", ""), "header a trusted proxy puts the client address in, e.g. X-Forwarded-For; its last entry is used; empty: the peer address (CLIENT_IP_HEADER)")
	fs.IntVar(&cfg.ContactLimitOffice, "contact-limit-office", envInt("CONTACT_LIMIT_OFFICE", 2), "bookings one e-mail address may hold per office and day; 0: no limit (CONTACT_LIMIT_OFFICE)")
	fs.IntVar(&cfg.ContactLimitPool, "contact-limit-pool", envInt("CONTACT_LIMIT_POOL", 4), "bookings one e-mail address may hold per pool and day; 0: no limit (CONTACT_LIMIT_POOL)")
	powLocations := fs.String("pow-locations", env("POW_LOCATIONS", ""), "locations whose holds always need a proof of work, comma-separated, or * for all (POW_LOCATIONS)")
	fs.IntVar(&cfg.PowAuto, "pow-auto", envInt("POW_AUTO", 300), "hold requests per minute and location-day above which a proof of work is needed; 0: never automatically (POW_AUTO)")
	fs.IntVar(&cfg.PowBits, "pow-bits", envInt("POW_BITS", 16), "proof-of-work difficulty in leading zero bits (POW_BITS)")
	fs.DurationVar(&cfg.PowTTL, "pow-ttl", envDuration("POW_TTL", 5*time.Minute), "how long a challenge can be used (POW_TTL)")
	cfg.Pay.flags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.RedisAddrs = splitList(*redisAddrs)
	cfg.PowLocations = splitList(*powLocations)
	if cfg.PowBits < 1 || cfg.PowBits > fairness.MaxDifficulty {
		return cfg, fmt.Errorf("-pow-bits must be between 1 and %d", fairness.MaxDifficulty)
	}
	if cfg.RateLimit < 0 || cfg.RateBurst < 1 {
		return cfg, errors.New("-rate-limit must not be negative and -rate-burst must be at least 1")
	}
	return cfg, nil
}

// subKey derives the key for one use from the shared secret, so a key
// that leaks from one use does not open the others.
func (cfg config) subKey(use string) []byte {
	m := hmac.New(sha256.New, []byte(cfg.Secret))
	m.Write([]byte(use))
	return m.Sum(nil)
}

// configureEngine applies the engine's settings from the configuration.
func (cfg config) configureEngine(e *booking.Engine) {
	e.HoldTTL = cfg.HoldTTL
	e.ContactKey = cfg.subKey("contact")
	e.ContactLimits = map[string]int{booking.KindOffice: cfg.ContactLimitOffice, booking.KindPool: cfg.ContactLimitPool}
}

func main() {
	cmd, args := "serve", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	cfg, err := parseConfig(args)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = runMigrate(ctx, cfg)
	case "seed":
		err = runSeed(ctx, cfg)
	case "paysim":
		err = runPaysim(ctx, cfg, log)
	default:
		err = fmt.Errorf("unknown command %q (serve, migrate, seed, paysim)", cmd)
	}
	if err != nil {
		log.Error("server stopped", "cmd", cmd, "err", err)
		os.Exit(1)
	}
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
// client for several.
func newRedis(addrs []string) redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:        addrs,
		PoolSize:     64,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   1,
	})
}

// components lists every package's migrations in dependency order.
var components = []migrate.Component{booking.Migrations, payment.Migrations}

func runMigrate(ctx context.Context, cfg config) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrate.Apply(ctx, db.DB, components...)
}

func runSeed(ctx context.Context, cfg config) error {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var city io.Reader = bytes.NewReader(demoCity)
	if cfg.CityFile != "" {
		f, err := os.Open(cfg.CityFile)
		if err != nil {
			return fmt.Errorf("city file: %w", err)
		}
		defer f.Close()
		city = f
	}
	if err := booking.LoadCity(ctx, booking.NewPostgres(db), city); err != nil {
		return err
	}
	return seedAccounting(ctx, cfg, payment.NewStore(db))
}

// deps are the long-lived pieces a server is built from.
type deps struct {
	cfg        config
	db         *sqlx.DB
	rdb        redis.UniversalClient
	engine     *booking.Engine
	signingKey ed25519.PrivateKey
	log        *slog.Logger
	// platform is the payment platform; nil when online payment is off.
	platform payment.Platform
	pay      *payments
}

func newDeps(ctx context.Context, cfg config, log *slog.Logger) (*deps, error) {
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	rdb := newRedis(cfg.RedisAddrs)
	holds := booking.NewRedisHolds(rdb)
	engine, err := booking.NewEngine(ctx, booking.NewPostgres(db), holds, log)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, err
	}
	cfg.configureEngine(engine)
	key, err := booking.NewPostgres(db).SigningKey(ctx)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, err
	}
	platform, err := newPlatform(cfg.Pay, log)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, err
	}
	return &deps{cfg: cfg, db: db, rdb: rdb, engine: engine, signingKey: key, log: log, platform: platform}, nil
}

func (d *deps) Close() {
	d.rdb.Close()
	d.db.Close()
}

// newApp wires the HTTP routes.
func newApp(d *deps) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "termin",
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(d.log),
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             256 << 10,
	})
	app.Use(recover.New())
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := d.engine.Ready(ctx); err != nil {
			return err
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	d.pay = newPayments(d)
	newAPI(d).routes(app)
	queue := booking.NewQueue(d.engine)
	queue.CheckInEarly, queue.CheckInLate = d.cfg.CheckInEarly, d.cfg.CheckInLate
	k := &kiosk{
		engine: d.engine, pg: booking.NewPostgres(d.db), queue: queue, key: d.signingKey,
		adminKey: d.cfg.AdminAPIKey, gateEarly: d.cfg.GateEarly, gateLate: d.cfg.GateLate,
	}
	k.routes(app)
	d.pay.routes(app)
	(&finance{pay: d.pay}).routes(app, k.requireAdmin)
	app.Use(func(c *fiber.Ctx) error { return errNotFound })
	return app
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	d, err := newDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := booking.NewRedisHolds(d.rdb).Preload(ctx); err != nil {
		log.Warn("preload redis scripts", "err", err)
	}
	if err := fairness.Preload(ctx, d.rdb); err != nil {
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
	d.pay.start(ctx)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String())
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
