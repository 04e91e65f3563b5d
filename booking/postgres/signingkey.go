package postgres

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
)

// SigningKey returns the key that signs QR tickets, creating it on first
// use; all replicas share it through PostgreSQL.
func (s *Store) SigningKey(ctx context.Context) (ed25519.PrivateKey, error) {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed) // never fails, per its documentation
	if _, err := s.db.ExecContext(ctx, `INSERT INTO signing_keys (id, seed) VALUES (1, $1) ON CONFLICT DO NOTHING`, seed); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := s.db.GetContext(ctx, &seed, `SELECT seed FROM signing_keys WHERE id = 1`); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
