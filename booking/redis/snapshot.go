package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
)

// Availability under a storm: thousands of citizens refreshing a calendar
// would each cost a bitmap script per day shown. Instead each process keeps
// the bitmap of a location-day it read, with the day's version (the "v"
// field of {loc:day}:meta, bumped by every script that changes a bit) and
// the next expiry of a hold or block in it:
//
//   - a read within Every of the last confirmation is served from memory,
//     with no Redis call at all;
//   - a later read sends one HGET of the version (pipelined with the other
//     days of the request); an unchanged version confirms the snapshot for
//     another Every;
//   - a changed version, a passed expiry or no snapshot runs the bitmap
//     script as before.
//
// Concurrent readers of one day share one confirmation or script call.
// The staleness bound: a change made in Redis at time t is shown by every
// read that starts after t + Every (the confirmation time is taken before
// its HGET is sent), on every replica. A replica's own holds, releases and
// loads drop its snapshot of the day at once. The hold script stays the
// only authority: a snapshot only ever decides what is listed, never what
// can be held.

// DefaultSnapshotEvery is how long a confirmed snapshot is served without
// asking Redis; the staleness bound is this (well under a second).
const DefaultSnapshotEvery = 250 * time.Millisecond

// maxSnapshots bounds the days a process keeps; past it the memory starts
// over (a read then costs a script again, nothing else).
const maxSnapshots = 8192

type snapshot struct {
	bits    []byte
	version string
	// nextExpiry is the earliest expiry of a hold or block in bits (unix
	// ms of the callers' clock), 0 for none: from then on bits may show a
	// unit the next script frees.
	nextExpiry int64
	// confirmed is when the version was last read (before the read was
	// sent), on the process's monotonic clock.
	confirmed time.Time
}

// valid reports whether the snapshot may still describe the day at now.
func (s *snapshot) valid(now time.Time) bool {
	return s.nextExpiry == 0 || now.UnixMilli() < s.nextExpiry
}

type snapshots struct {
	every time.Duration
	clock func() time.Time

	mu     sync.Mutex
	days   map[string]*snapshot
	flight map[string]*versionCheck
}

// versionCheck is one HGET of a day's version that readers share.
type versionCheck struct {
	done    chan struct{}
	sent    time.Time
	version string
	err     error
}

// UseSnapshots serves availability reads from snapshots confirmed at most
// every ago (DefaultSnapshotEvery when 0; a negative value turns them off).
func (r *Holds) UseSnapshots(every time.Duration) {
	if every < 0 {
		r.snaps = nil
		return
	}
	if every == 0 {
		every = DefaultSnapshotEvery
	}
	r.snaps = &snapshots{every: every, clock: time.Now, days: map[string]*snapshot{}, flight: map[string]*versionCheck{}}
}

func snapKey(location string, d booking.Date) string { return location + "\x00" + d.String() }

func (s *snapshots) clockNow() time.Time {
	if s == nil {
		return time.Time{}
	}
	return s.clock()
}

// forget drops a day's snapshot after this process changed the day.
func (s *snapshots) forget(location string, d booking.Date) {
	if s == nil {
		return
	}
	s.mu.Lock()
	delete(s.days, snapKey(location, d))
	s.mu.Unlock()
}

// keep stores a bitmap read by the script, confirmed as of sent.
func (s *snapshots) keep(location string, d booking.Date, snap *snapshot, sent time.Time) {
	if s == nil || snap.version == "" {
		return
	}
	snap.confirmed = sent
	s.mu.Lock()
	if len(s.days) >= maxSnapshots {
		s.days = map[string]*snapshot{}
	}
	s.days[snapKey(location, d)] = snap
	s.mu.Unlock()
}

// serve fills out with the days it can answer from snapshots and returns
// the indexes of the days that need the bitmap script.
func (s *snapshots) serve(ctx context.Context, rdb goredis.UniversalClient, location string, days []booking.Date, now time.Time, out [][]byte) ([]int, error) {
	var read, check []int
	var snaps []*snapshot
	s.mu.Lock()
	t := s.clock()
	for i, d := range days {
		snap := s.days[snapKey(location, d)]
		switch {
		case snap == nil || !snap.valid(now):
			read = append(read, i)
		case t.Sub(snap.confirmed) < s.every:
			out[i] = snap.bits
		default:
			check = append(check, i)
			snaps = append(snaps, snap)
		}
	}
	s.mu.Unlock()
	if len(check) == 0 {
		return read, nil
	}
	versions, sent, err := s.versions(ctx, rdb, location, days, check)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for k, i := range check {
		if versions[k] == snaps[k].version {
			if sent.After(snaps[k].confirmed) {
				snaps[k].confirmed = sent
			}
			out[i] = snaps[k].bits
		} else {
			read = append(read, i)
		}
	}
	s.mu.Unlock()
	return read, nil
}

// versions reads the versions of days[check...], sharing a read already in
// flight for a day with its other readers. sent is the earliest time any
// of the reads used was sent.
func (s *snapshots) versions(ctx context.Context, rdb goredis.UniversalClient, location string, days []booking.Date, check []int) ([]string, time.Time, error) {
	waits := make([]*versionCheck, len(check))
	var mine []int // positions in check this call sends
	s.mu.Lock()
	t0 := s.clock()
	sent := t0
	for k, i := range check {
		key := snapKey(location, days[i])
		if vc, ok := s.flight[key]; ok {
			// Joining a read sent earlier: the confirmation counts from
			// when that one was sent.
			waits[k] = vc
			if vc.sent.Before(sent) {
				sent = vc.sent
			}
			continue
		}
		vc := &versionCheck{done: make(chan struct{}), sent: t0}
		s.flight[key] = vc
		waits[k] = vc
		mine = append(mine, k)
	}
	s.mu.Unlock()
	if len(mine) > 0 {
		pipe := rdb.Pipeline()
		cmds := make([]*goredis.StringCmd, len(mine))
		for n, k := range mine {
			cmds[n] = pipe.HGet(context.WithoutCancel(ctx), DayKeys(location, days[check[k]])[3], "v")
		}
		_, err := pipe.Exec(context.WithoutCancel(ctx))
		if err != nil && !errors.Is(err, goredis.Nil) {
			err = fmt.Errorf("%w: read day versions: %w", booking.ErrUnavailable, err)
		} else {
			err = nil
		}
		s.mu.Lock()
		for n, k := range mine {
			vc := waits[k]
			vc.version, vc.err = cmds[n].Val(), err
			delete(s.flight, snapKey(location, days[check[k]]))
			close(vc.done)
		}
		s.mu.Unlock()
	}
	out := make([]string, len(check))
	for k, vc := range waits {
		select {
		case <-vc.done:
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		}
		if vc.err != nil {
			return nil, time.Time{}, vc.err
		}
		out[k] = vc.version
	}
	return out, sent, nil
}
