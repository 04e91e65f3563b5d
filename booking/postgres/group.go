package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"

	"github.com/digitale-verwaltung/termin/booking"
)

// Confirms under a burst: right after a rush hundreds of citizens confirm
// their holds at once, and each booking was one transaction, so one commit
// (one flush of the write-ahead log to disk) per booking. insertGroup
// writes the bookings of concurrent callers in one transaction instead,
// each in a savepoint of its own: a booking that meets its UNIQUE guard
// (a unit, the hold, the code) or its contact limit is rolled back to its
// savepoint and gets its own answer, the others commit together with one
// flush. Nothing runs in the background: like booking/redis's script
// batcher, a caller that finds fewer than maxGroupFlushers groups in
// flight writes everything waiting, its own booking included.
type insertGroup struct {
	db *sqlx.DB

	mu       sync.Mutex
	pending  []*insertCall
	flushing int

	// groups and grouped count transactions and the bookings in them,
	// for tests.
	groups, grouped atomic.Int64
	// limit overrides maxGroup (a benchmark compares with 1: a
	// transaction per booking).
	limit int
}

const (
	// maxGroupFlushers bounds the group transactions in flight at once,
	// so a burst also leaves connections for other work (the server's
	// pool has 40). 16 groups of up to 16 did best of the shapes tried
	// with BenchmarkBurstOfConfirms (4×64, 8×32, 12×16, 16×24, 24×8).
	maxGroupFlushers = 16
	// maxGroup bounds one transaction: the bookings of a group are
	// written one after the other, so a group must stay short enough not
	// to be the wait of its last booking.
	maxGroup = 16
)

type insertCall struct {
	ctx  context.Context
	nb   *booking.NewBooking
	err  error
	done chan struct{}
}

// insert writes nb in a group with concurrent callers.
func (g *insertGroup) insert(ctx context.Context, nb *booking.NewBooking) error {
	c := &insertCall{ctx: ctx, nb: nb, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.flushing >= maxGroupFlushers {
		g.mu.Unlock()
		// The flusher that takes this call answers it even when this
		// caller gives up, so its booking's outcome is never unknown to
		// the store; the caller waits for it.
		<-c.done
		return c.err
	}
	g.flushing++
	for {
		n := min(len(g.pending), maxGroup)
		if g.limit > 0 {
			n = min(n, g.limit)
		}
		batch := g.pending[:n:n]
		g.pending = append([]*insertCall(nil), g.pending[n:]...)
		g.mu.Unlock()
		g.write(batch)
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.flushing--
			g.mu.Unlock()
			<-c.done
			return c.err
		}
	}
}

// write writes one group and answers every call in it.
func (g *insertGroup) write(batch []*insertCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err // gave up before anything was written
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		c := live[0]
		c.err = pgtxInTx(c.ctx, g.db, func(tx *sqlx.Tx) error { return InsertBooking(c.ctx, tx, c.nb) })
		if c.err != nil {
			resetIDs(c.nb)
		}
		close(c.done)
		return
	}
	g.groups.Add(1)
	g.grouped.Add(int64(len(live)))
	errs, err := g.writeGroup(live)
	if err != nil {
		// The group as a whole failed (a deadlock with another group, a
		// lost connection): each booking is tried on its own, so no
		// booking fails for another's sake.
		for _, c := range live {
			resetIDs(c.nb)
			c.err = pgtxInTx(c.ctx, g.db, func(tx *sqlx.Tx) error { return InsertBooking(c.ctx, tx, c.nb) })
			if c.err != nil {
				resetIDs(c.nb)
			}
			close(c.done)
		}
		return
	}
	for i, c := range live {
		if errs[i] != nil {
			resetIDs(c.nb)
		}
		c.err = errs[i]
		close(c.done)
	}
}

// resetIDs forgets what a booking rolled back was given.
func resetIDs(nb *booking.NewBooking) {
	nb.Booking.ID = 0
}

// writeGroup writes the bookings in one transaction, each in a savepoint.
// errs are the bookings' own outcomes (domain conflicts); err is a failure
// of the group, after which nothing was committed.
func (g *insertGroup) writeGroup(calls []*insertCall) (errs []error, err error) {
	// The group must not fail for the others because the caller that
	// happens to write it gives up.
	ctx := context.WithoutCancel(calls[0].ctx)
	errs = make([]error, len(calls))
	err = pgtxInTx(ctx, g.db, func(tx *sqlx.Tx) error {
		for i, c := range calls {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT booking`); err != nil {
				return unavailable("savepoint", err)
			}
			ierr := InsertBooking(ctx, tx, c.nb)
			if ierr != nil && !domainConflict(ierr) {
				return ierr
			}
			errs[i] = ierr
			undo := `RELEASE SAVEPOINT booking`
			if ierr != nil {
				undo = `ROLLBACK TO SAVEPOINT booking`
			}
			if _, err := tx.ExecContext(ctx, undo); err != nil {
				return unavailable("savepoint", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("group of %d bookings: %w", len(calls), err)
	}
	return errs, nil
}

// domainConflict reports the outcomes that belong to one booking and
// leave the transaction usable after a rollback to its savepoint.
func domainConflict(err error) bool {
	for _, e := range []error{booking.ErrContactLimit, booking.ErrHoldUsed, booking.ErrUnitTaken, booking.ErrCodeTaken} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
