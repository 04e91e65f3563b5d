// Package migrate applies versioned SQL migrations that packages embed next
// to their storage code. Each package is a component with its own ordered
// list of files; applied versions are recorded in schema_migrations.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// lockKey serialises migrators of all processes sharing one database.
const lockKey = 7_441_023_001

// Component is one package's migrations: files named NNNN_description.sql.
type Component struct {
	Name string
	FS   fs.FS
}

// Embedded is the component of the migrations a package embeds in dir
// (with //go:embed dir/*.sql). A dir the embedded files do not have is a
// programming error, found at start-up.
func Embedded(name string, files fs.FS, dir string) Component {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("migrate: %s migrations: %v", name, err))
	}
	return Component{Name: name, FS: sub}
}

// Apply brings every component up to date, in the order given, each file
// in its own transaction. It is safe to run from several processes at once.
func Apply(ctx context.Context, db *sql.DB, components ...Component) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component text NOT NULL,
		version text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, c := range components {
		if err := applyComponent(ctx, conn, c); err != nil {
			return err
		}
	}
	return nil
}

func applyComponent(ctx context.Context, conn *sql.Conn, c Component) error {
	names, err := fs.Glob(c.FS, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate %s: %w", c.Name, err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		var done bool
		if err := conn.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2)`,
			c.Name, version).Scan(&done); err != nil {
			return fmt.Errorf("migrate %s: %w", c.Name, err)
		}
		if done {
			continue
		}
		body, err := fs.ReadFile(c.FS, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", c.Name, err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", c.Name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s %s: %w", c.Name, version, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (component, version) VALUES ($1, $2)`, c.Name, version); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s %s: %w", c.Name, version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s %s: %w", c.Name, version, err)
		}
	}
	return nil
}
