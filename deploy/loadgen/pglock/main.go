// Command pglock is the benchmark's baseline: the same hold and booking
// endpoints as the server, reserving the way a plain PostgreSQL design
// does — lock the slot's counter row (SELECT … FOR UPDATE), check and bump
// it, insert the hold; confirm by locking the hold and inserting the
// booking. It exists only to be measured against (deploy/bench.sh) and
// keeps no expiry of holds, which the short benchmark does not need.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

const schema = `
CREATE TABLE IF NOT EXISTS pl_slots (
	location_id text NOT NULL,
	start_at timestamptz NOT NULL,
	capacity int NOT NULL,
	taken int NOT NULL DEFAULT 0 CHECK (taken <= capacity),
	PRIMARY KEY (location_id, start_at)
);
CREATE TABLE IF NOT EXISTS pl_holds (
	id text PRIMARY KEY,
	location_id text NOT NULL,
	start_at timestamptz NOT NULL,
	units int NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS pl_bookings (
	id bigserial PRIMARY KEY,
	hold_id text NOT NULL UNIQUE,
	location_id text NOT NULL,
	start_at timestamptz NOT NULL,
	units int NOT NULL,
	name text NOT NULL,
	email text NOT NULL
);`

func main() {
	addr := flag.String("http", "127.0.0.1:8090", "listen address")
	dbURL := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL URL")
	location := flag.String("location", "rush-hall", "location of the benchmark slot")
	start := flag.String("start", "", "start of the benchmark slot, RFC 3339")
	capacity := flag.Int("capacity", 500, "units of the benchmark slot")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(*addr, *dbURL, *location, *start, *capacity); err != nil {
		log.Error("pglock stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr, dbURL, location, start string, capacity int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	// The same pool size as the server, so the comparison is of designs.
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if _, err := db.ExecContext(ctx, `
		INSERT INTO pl_slots (location_id, start_at, capacity) VALUES ($1, $2, $3)
		ON CONFLICT (location_id, start_at) DO UPDATE SET capacity = $3`, location, t, capacity); err != nil {
		return fmt.Errorf("slot: %w", err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	s := &store{db: db}
	app.Post("/api/v1/holds", s.hold)
	app.Post("/api/v1/bookings", s.book)
	app.Get("/api/v1/availability", s.availability)
	go func() {
		<-ctx.Done()
		app.ShutdownWithTimeout(5 * time.Second)
	}()
	return app.Listen(addr)
}

type store struct{ db *sqlx.DB }

func fail(c *fiber.Ctx, status int, code string) error {
	return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"code": code, "message": code, "message_de": code}})
}

func (s *store) hold(c *fiber.Ctx) error {
	var req struct {
		Location, Service, Start string
		Units                    int
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return fail(c, 400, "invalid_json")
	}
	if req.Units == 0 {
		req.Units = 1
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return fail(c, 400, "invalid_request")
	}
	ctx := c.UserContext()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fail(c, 503, "unavailable")
	}
	defer tx.Rollback()
	var capacity, taken int
	err = tx.QueryRowContext(ctx, `SELECT capacity, taken FROM pl_slots WHERE location_id = $1 AND start_at = $2 FOR UPDATE`,
		req.Location, start).Scan(&capacity, &taken)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(c, 422, "slot_invalid")
	}
	if err != nil {
		return fail(c, 503, "unavailable")
	}
	if taken+req.Units > capacity {
		return fail(c, 409, "slot_full")
	}
	id := randomID()
	if _, err := tx.ExecContext(ctx, `UPDATE pl_slots SET taken = taken + $3 WHERE location_id = $1 AND start_at = $2`,
		req.Location, start, req.Units); err != nil {
		return fail(c, 503, "unavailable")
	}
	expires := time.Now().Add(10 * time.Minute)
	if _, err := tx.ExecContext(ctx, `INSERT INTO pl_holds (id, location_id, start_at, units, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		id, req.Location, start, req.Units, expires); err != nil {
		return fail(c, 503, "unavailable")
	}
	if err := tx.Commit(); err != nil {
		return fail(c, 503, "unavailable")
	}
	return c.Status(201).JSON(fiber.Map{"id": id, "expires_at": expires.UTC(), "units": req.Units})
}

func (s *store) book(c *fiber.Ctx) error {
	var req struct{ Hold, Name, Email string }
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return fail(c, 400, "invalid_json")
	}
	ctx := c.UserContext()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fail(c, 503, "unavailable")
	}
	defer tx.Rollback()
	var loc string
	var start time.Time
	var units int
	err = tx.QueryRowContext(ctx, `DELETE FROM pl_holds WHERE id = $1 RETURNING location_id, start_at, units`, req.Hold).Scan(&loc, &start, &units)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(c, 410, "hold_expired")
	}
	if err != nil {
		return fail(c, 503, "unavailable")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pl_bookings (hold_id, location_id, start_at, units, name, email) VALUES ($1, $2, $3, $4, $5, $6)`,
		req.Hold, loc, start, units, req.Name, req.Email); err != nil {
		return fail(c, 503, "unavailable")
	}
	if err := tx.Commit(); err != nil {
		return fail(c, 503, "unavailable")
	}
	return c.Status(201).JSON(fiber.Map{"code": req.Hold[:8], "status": "confirmed"})
}

func (s *store) availability(c *fiber.Ctx) error {
	var free []struct {
		Start time.Time `db:"start_at" json:"start"`
		Free  int       `db:"free" json:"free"`
	}
	if err := s.db.SelectContext(c.UserContext(), &free, `SELECT start_at, capacity - taken AS free FROM pl_slots WHERE location_id = $1`,
		c.Query("location")); err != nil {
		return fail(c, 503, "unavailable")
	}
	return c.JSON(fiber.Map{"slots": free})
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
