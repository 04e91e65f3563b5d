package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// SigningKey returns the private key that signs QR tickets now, creating
// the first key on first use.
func (s *Store) SigningKey(ctx context.Context) (ed25519.PrivateKey, error) {
	keys, err := s.TicketKeys(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	k, ok := keys.Active()
	if !ok {
		return nil, errors.New("signing key: none active")
	}
	return k.Private, nil
}

type signingKeyRow struct {
	ID          int64        `db:"id"`
	Seed        []byte       `db:"seed"`
	RetiredAt   sql.NullTime `db:"retired_at"`
	VerifyUntil sql.NullTime `db:"verify_until"`
}

// TicketKeys returns the active key and the retired keys still verifying
// at now, the active one first; all replicas share them through
// PostgreSQL. The first key (id 1) is created when there is none.
func (s *Store) TicketKeys(ctx context.Context, now time.Time) (booking.TicketKeys, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO signing_keys (id, seed)
		SELECT 1, $1 WHERE NOT EXISTS (SELECT 1 FROM signing_keys) ON CONFLICT DO NOTHING`, newSeed()); err != nil {
		return nil, fmt.Errorf("signing keys: create the first: %w", err)
	}
	var rows []signingKeyRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, seed, retired_at, verify_until FROM signing_keys
		WHERE retired_at IS NULL OR verify_until IS NULL OR verify_until > $1
		ORDER BY retired_at IS NULL DESC, id DESC`, now); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	keys := make(booking.TicketKeys, 0, len(rows))
	for _, r := range rows {
		if len(r.Seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %d: seed of %d bytes", r.ID, len(r.Seed))
		}
		priv := ed25519.NewKeyFromSeed(r.Seed)
		k := booking.TicketKey{ID: r.ID, Private: priv, Public: priv.Public().(ed25519.PublicKey), Active: !r.RetiredAt.Valid}
		if r.VerifyUntil.Valid {
			k.VerifyUntil = r.VerifyUntil.Time.UTC()
		}
		keys = append(keys, k)
	}
	if _, ok := keys.Active(); !ok {
		return nil, errors.New("signing keys: none active")
	}
	return keys, nil
}

// KeyRotation is the outcome of a rotation: the new active key and the
// one it replaced.
type KeyRotation struct {
	Active, Retired int64
}

// RotateSigningKey makes a new active key and retires the one before; the
// retired key keeps verifying until SettleRetiredKeys fixes its end.
func (s *Store) RotateSigningKey(ctx context.Context) (KeyRotation, error) {
	var out KeyRotation
	if _, err := s.TicketKeys(ctx, time.Now()); err != nil {
		return out, err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return out, fmt.Errorf("rotate signing key: %w", err)
	}
	defer tx.Rollback()
	// The row lock orders concurrent rotations: the second retires the
	// key the first made.
	if err := tx.GetContext(ctx, &out.Retired, `UPDATE signing_keys SET retired_at = now()
		WHERE retired_at IS NULL RETURNING id`); err != nil {
		return out, fmt.Errorf("rotate signing key: retire: %w", err)
	}
	if err := tx.GetContext(ctx, &out.Active, `INSERT INTO signing_keys (seed) VALUES ($1) RETURNING id`, newSeed()); err != nil {
		return out, fmt.Errorf("rotate signing key: create: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return out, fmt.Errorf("rotate signing key: %w", err)
	}
	return out, nil
}

// RetiredKey is a retired key whose end is fixed.
type RetiredKey struct {
	ID          int64     `db:"id"`
	VerifyUntil time.Time `db:"verify_until"`
}

// SettleRetiredKeys fixes when retired keys stop verifying, once every
// replica signs with the successor (pickup after the retirement): at the
// latest end of a booking made until then that is not cancelled, plus
// late (the entrance's grace after a slot), and never before the pickup
// plus late. Any replica may run it; each key is settled once.
func (s *Store) SettleRetiredKeys(ctx context.Context, pickup, late time.Duration) ([]RetiredKey, error) {
	var out []RetiredKey
	err := s.db.SelectContext(ctx, &out, `UPDATE signing_keys k SET verify_until = GREATEST(k.retired_at + $1::interval,
			COALESCE((SELECT max(b.end_at) FROM bookings b
				WHERE b.created_at <= k.retired_at + $1::interval AND b.status <> 'cancelled'), k.retired_at)) + $2::interval
		WHERE k.retired_at IS NOT NULL AND k.verify_until IS NULL AND k.retired_at + $1::interval <= now()
		RETURNING id, verify_until`, interval(pickup), interval(late))
	if err != nil {
		return nil, fmt.Errorf("settle retired signing keys: %w", err)
	}
	return out, nil
}

// DropRetiredKeys deletes the keys whose tickets are all past, seeds and
// all.
func (s *Store) DropRetiredKeys(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND verify_until <= $1 RETURNING id`, now); err != nil {
		return nil, fmt.Errorf("drop retired signing keys: %w", err)
	}
	return ids, nil
}

func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }

func newSeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed) // never fails, per its documentation
	return seed
}
