// Package redis keeps booking holds and the availability bitmaps in Redis
// (a single server or a Redis Cluster): it implements booking.Holds.
//
// The Redis side of reservations. All keys of one location-day share the
// hash tag {location:day}, so every script touches a single hash slot and
// runs unchanged on Redis Cluster:
//
//	{loc:day}:units  bitmap, bit cell*capacity+unit is 1 while held or booked
//	{loc:day}:holds  hash hold id -> JSON record (units, bit offsets, expiry)
//	{loc:day}:exp    sorted set hold id -> expiry (unix ms)
//	{loc:day}:meta   hash; field "loaded" is set once the day's confirmed
//	                 bookings have been copied in from PostgreSQL; field "v"
//	                 is the day's version, bumped by every script that
//	                 changes a bit (it starts at a random value on each
//	                 load, so a lost and reloaded day never repeats one)
//
// A cancelled booking's units stay set for a while as a block: a record in
// the holds hash under "cancelled:<booking id>" with the block's end as
// its expiry, swept like an expired hold.
//
// Expired holds are swept lazily at the start of every script, using the
// caller's clock, so no process needs to run a timer. A script that finds
// the day not loaded answers NOTLOADED; the caller loads the day from
// PostgreSQL and retries, which is how Redis state comes back after loss.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
)

// scriptPrelude is shared by every script that reads or changes holds.
const scriptPrelude = `
local units, holds, exp, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function bump()
  redis.call('HINCRBY', meta, 'v', 1)
end
local function sweep(now)
  local ids = redis.call('ZRANGEBYSCORE', exp, '-inf', now)
  if #ids > 0 then bump() end
  for _, id in ipairs(ids) do
    local rec = redis.call('HGET', holds, id)
    if rec then
      for _, off in ipairs(cjson.decode(rec).o) do
        redis.call('SETBIT', units, off, 0)
      end
      redis.call('HDEL', holds, id)
    end
    redis.call('ZREM', exp, id)
  end
end
local function loaded()
  return redis.call('HEXISTS', meta, 'loaded') == 1
end
local function keep(ttl)
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
end
`

// holdScript: ARGV now, id, expires, capacity, first cell, cells, units,
// key ttl seconds, record JSON (without offsets). Returns {1, unit...} or
// {0, free}.
var holdScript = newScript(scriptPrelude + `
local now, id, expires = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local cap, first, ncells, want = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if not loaded() then return redis.error_reply('NOTLOADED') end
sweep(now)
if redis.call('HEXISTS', holds, id) == 1 then return redis.error_reply('DUPLICATE hold id') end
local free = {}
if ncells == 1 then
  -- BITPOS finds the next zero bit inside this cell's range in one call.
  local base = first * cap
  local lo, hi = base, base + cap - 1
  -- BITPOS treats a missing key or a range past the string's end
  -- specially; writing the last bit of the range makes it a plain search.
  redis.call('SETBIT', units, hi, redis.call('GETBIT', units, hi))
  while #free < want do
    local pos = redis.call('BITPOS', units, 0, lo, hi, 'BIT')
    if pos < lo or pos > hi then break end
    free[#free + 1] = pos - base
    lo = pos + 1
    if lo > hi then break end
  end
else
  for u = 0, cap - 1 do
    local ok = true
    for c = first, first + ncells - 1 do
      if redis.call('GETBIT', units, c * cap + u) == 1 then ok = false; break end
    end
    if ok then
      free[#free + 1] = u
      if #free == want then break end
    end
  end
end
if #free < want then return {0, #free} end
local offs = {}
for _, u in ipairs(free) do
  for c = first, first + ncells - 1 do
    local off = c * cap + u
    redis.call('SETBIT', units, off, 1)
    offs[#offs + 1] = off
  end
end
local rec = cjson.decode(ARGV[9])
rec.u = free
rec.o = offs
rec.e = expires
rec.p = now
redis.call('HSET', holds, id, cjson.encode(rec))
redis.call('ZADD', exp, expires, id)
bump()
keep(tonumber(ARGV[8]))
local out = {1}
for _, u in ipairs(free) do out[#out + 1] = u end
return out
`)

// releaseScript: ARGV now, id, force. Frees a live hold's units. Returns 1
// when the hold was live and is gone. A claimed hold (one whose booking is
// being written) is left alone unless force is 1: its units are about to
// stand for a booking, and freeing them would let the next hold take a
// booked unit.
var releaseScript = newScript(scriptPrelude + `
sweep(tonumber(ARGV[1]))
local raw = redis.call('HGET', holds, ARGV[2])
if not raw then return 0 end
local rec = cjson.decode(raw)
if rec.c and ARGV[3] ~= '1' then return 0 end
for _, off in ipairs(rec.o) do redis.call('SETBIT', units, off, 0) end
redis.call('HDEL', holds, ARGV[2])
redis.call('ZREM', exp, ARGV[2])
bump()
return 1
`)

// claimScript: ARGV now, id, new expiry. Returns the live hold's record,
// marks it claimed (so a release no longer frees it) and pushes its expiry
// out to at least the new expiry, so it cannot lapse while the booking is
// written to PostgreSQL (or while a payment is pending). Returns nil when
// the hold is gone.
var claimScript = newScript(scriptPrelude + `
sweep(tonumber(ARGV[1]))
local raw = redis.call('HGET', holds, ARGV[2])
if not raw then return false end
local rec = cjson.decode(raw)
local until_ = tonumber(ARGV[3])
if until_ > rec.e then
  rec.e = until_
  redis.call('ZADD', exp, until_, ARGV[2])
end
rec.c = 1
raw = cjson.encode(rec)
redis.call('HSET', holds, ARGV[2], raw)
return raw
`)

// unclaimScript: ARGV id. The booking of a claimed hold could not be
// written: the hold may be booked again or released.
var unclaimScript = newScript(scriptPrelude + `
local raw = redis.call('HGET', holds, ARGV[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
rec.c = nil
redis.call('HSET', holds, ARGV[1], cjson.encode(rec))
return 1
`)

// confirmScript: ARGV id. The hold became a booking: forget the hold but
// keep its bits, which now stand for booked units.
var confirmScript = newScript(scriptPrelude + `
redis.call('ZREM', exp, ARGV[1])
return redis.call('HDEL', holds, ARGV[1])
`)

// markScript: ARGV ttl, now, version seed, blocks JSON, offset... Sets
// booked bits and marks the day loaded. Only ever sets bits, so a load
// racing with live holds or a second loader cannot free anything. Blocks
// (cancelled units still blocked, from PostgreSQL) are added only by the
// load that finds the day not loaded: on a loaded day they are there
// already or were swept, and a swept block's units may be held by now.
var markScript = newScript(scriptPrelude + `
local fresh = not loaded()
for i = 5, #ARGV do redis.call('SETBIT', units, tonumber(ARGV[i]), 1) end
if fresh then
  redis.call('HSET', meta, 'v', ARGV[3])
  local now = tonumber(ARGV[2])
  for _, b in ipairs(cjson.decode(ARGV[4])) do
    if b.e > now then
      for _, off in ipairs(b.o) do redis.call('SETBIT', units, off, 1) end
      redis.call('HSET', holds, b.id, cjson.encode({o = b.o, e = b.e, b = 1}))
      redis.call('ZADD', exp, b.e, b.id)
    end
  end
end
redis.call('HSET', meta, 'loaded', 1)
bump()
keep(tonumber(ARGV[1]))
return 1
`)

// unmarkScript: ARGV offset... Clears the bits of cancelled units. A day
// that is not loaded is left alone: loading it later reads PostgreSQL,
// where the units are already free.
var unmarkScript = newScript(scriptPrelude + `
if not loaded() then return 0 end
for i = 1, #ARGV do redis.call('SETBIT', units, tonumber(ARGV[i]), 0) end
bump()
return 1
`)

// blockScript: ARGV now, id, until, offset... Keeps a cancelled booking's
// units set until the block ends, as a record the sweep frees then. A day
// that is not loaded is left alone: loading it reads the block from
// PostgreSQL.
var blockScript = newScript(scriptPrelude + `
if not loaded() then return 0 end
sweep(tonumber(ARGV[1]))
local offs = {}
for i = 4, #ARGV do
  local off = tonumber(ARGV[i])
  redis.call('SETBIT', units, off, 1)
  offs[#offs + 1] = off
end
local until_ = tonumber(ARGV[3])
redis.call('HSET', holds, ARGV[2], cjson.encode({o = offs, e = until_, b = 1}))
redis.call('ZADD', exp, until_, ARGV[2])
bump()
return 1
`)

// bitmapScript: ARGV now. Sweeps expired holds and returns the day's
// bitmap ("" when nothing is taken), its version and the next expiry of a
// hold or block (unix ms, 0 for none): the bitmap is what availability
// shows until then or until the version changes.
var bitmapScript = newScript(scriptPrelude + `
if not loaded() then return redis.error_reply('NOTLOADED') end
sweep(tonumber(ARGV[1]))
local next = redis.call('ZRANGE', exp, 0, 0, 'WITHSCORES')
local bits = redis.call('GET', units) or ''
return {bits, redis.call('HGET', meta, 'v') or '', next[2] or '0'}
`)

// scriptSource keeps each script's Lua, so a test can check which keys it
// touches.
var scriptSource = map[*goredis.Script]string{}

func newScript(src string) *goredis.Script {
	s := goredis.NewScript(src)
	scriptSource[s] = src
	return s
}

// HoldScriptHash is the SHA-1 that EVALSHA runs a hold by, so a benchmark
// can measure Redis's raw ceiling with the very script a hold runs.
func HoldScriptHash() string { return holdScript.Hash() }

// Scripts lists every Lua script, for preloading with SCRIPT LOAD.
var scripts = []*goredis.Script{holdScript, releaseScript, claimScript, unclaimScript, confirmScript, markScript, unmarkScript, blockScript, bitmapScript}

// Holds keeps holds and the availability bitmap in Redis.
type Holds struct {
	rdb   goredis.UniversalClient
	batch *scriptBatcher
	// snaps serves availability reads from recent bitmaps; nil reads
	// every bitmap from Redis.
	snaps *snapshots
}

var _ booking.Holds = (*Holds)(nil)

// New uses rdb, a single Redis or a Redis Cluster client.
func New(rdb goredis.UniversalClient) *Holds {
	return &Holds{rdb: rdb, batch: &scriptBatcher{rdb: rdb}}
}

// Preload loads every script so the first EVALSHA under load does not miss.
func (r *Holds) Preload(ctx context.Context) error {
	for _, s := range scripts {
		if err := s.Load(ctx, r.rdb).Err(); err != nil {
			return fmt.Errorf("load redis script: %w", err)
		}
	}
	return nil
}

// DayKeys are the keys of one location-day, in the order the scripts
// expect.
func DayKeys(locationID string, d booking.Date) []string {
	tag := "{" + locationID + ":" + d.String() + "}"
	return []string{tag + ":units", tag + ":holds", tag + ":exp", tag + ":meta"}
}

// holdRecord is what a hold keeps in Redis besides its bits; the scripts
// read and extend it.
type holdRecord struct {
	Service string     `json:"s"`
	Items   []itemJSON `json:"i,omitempty"`
	Start   int64      `json:"t"` // unix ms
	End     int64      `json:"n"` // unix ms
	Units   []int      `json:"u,omitempty"`
	Offsets []int      `json:"o,omitempty"`
	Expires int64      `json:"e,omitempty"`
	Placed  int64      `json:"p,omitempty"` // unix ms; 0 in records from before
}

// itemJSON is one service or ticket type of a hold; records written
// before multi-service holds have none.
type itemJSON struct {
	Service string `json:"v"`
	Count   int    `json:"n"`
}

func (h holdRecord) record() *booking.HoldRecord {
	r := &booking.HoldRecord{Service: h.Service, Start: time.UnixMilli(h.Start).UTC(), End: time.UnixMilli(h.End).UTC(), Units: h.Units}
	if h.Placed > 0 {
		r.Placed = time.UnixMilli(h.Placed).UTC()
	}
	if h.Expires > 0 {
		r.Expires = time.UnixMilli(h.Expires).UTC()
	}
	for _, it := range h.Items {
		r.Items = append(r.Items, booking.Item{ServiceID: it.Service, Count: it.Count})
	}
	return r
}

// run evaluates a script (EVALSHA, falling back to EVAL on NOSCRIPT) and
// classifies the failure.
func (r *Holds) run(ctx context.Context, s *goredis.Script, keys []string, args ...any) (any, error) {
	v, err := r.batch.run(ctx, s, keys, args...)
	switch {
	case err == nil || errors.Is(err, goredis.Nil):
		return v, nil
	case strings.Contains(err.Error(), "NOTLOADED"):
		return nil, booking.ErrDayNotLoaded
	default:
		return nil, fmt.Errorf("%w: %w", booking.ErrUnavailable, err)
	}
}

// Hold takes units or answers booking.ErrSlotFull.
func (r *Holds) Hold(ctx context.Context, q booking.HoldRequest) ([]int, error) {
	hr := holdRecord{Service: q.Service, Start: q.Start.UnixMilli(), End: q.End.UnixMilli()}
	for _, it := range q.Items {
		hr.Items = append(hr.Items, itemJSON{Service: it.ServiceID, Count: it.Count})
	}
	rec, err := json.Marshal(hr)
	if err != nil {
		return nil, err
	}
	v, err := r.run(ctx, holdScript, DayKeys(q.Location, q.Day),
		q.Now.UnixMilli(), q.ID, q.Expires.UnixMilli(), q.Capacity, q.First, q.Cells, q.Units,
		int(q.KeyTTL.Seconds()), string(rec))
	if err != nil {
		return nil, err
	}
	out, ok := v.([]any)
	if !ok || len(out) < 1 {
		return nil, fmt.Errorf("%w: unexpected hold reply %v", booking.ErrUnavailable, v)
	}
	if out[0].(int64) == 0 {
		return nil, booking.ErrSlotFull
	}
	r.snaps.forget(q.Location, q.Day)
	units := make([]int, 0, len(out)-1)
	for _, u := range out[1:] {
		units = append(units, int(u.(int64)))
	}
	return units, nil
}

// Release frees a live hold's units; a claimed hold only when force is
// set, which is for a booking that failed after its claim.
func (r *Holds) Release(ctx context.Context, location string, d booking.Date, id string, now time.Time, force bool) (bool, error) {
	flag := 0
	if force {
		flag = 1
	}
	v, err := r.run(ctx, releaseScript, DayKeys(location, d), now.UnixMilli(), id, flag)
	if err != nil {
		return false, err
	}
	r.snaps.forget(location, d)
	return v == int64(1), nil
}

// Claim returns the live hold and extends it to at least until.
func (r *Holds) Claim(ctx context.Context, location string, d booking.Date, id string, now, until time.Time) (*booking.HoldRecord, error) {
	v, err := r.run(ctx, claimScript, DayKeys(location, d), now.UnixMilli(), id, until.UnixMilli())
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, nil
	}
	return decodeRecord(s)
}

func decodeRecord(s string) (*booking.HoldRecord, error) {
	var rec holdRecord
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return nil, fmt.Errorf("decode hold record: %w", err)
	}
	return rec.record(), nil
}

// Peek returns a hold as it is; nil when it is gone.
func (r *Holds) Peek(ctx context.Context, location string, d booking.Date, id string) (*booking.HoldRecord, error) {
	raw, err := r.rdb.HGet(ctx, DayKeys(location, d)[1], id).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read hold: %w", booking.ErrUnavailable, err)
	}
	return decodeRecord(raw)
}

// Unclaim lets a claimed hold be booked again or released.
func (r *Holds) Unclaim(ctx context.Context, location string, d booking.Date, id string) error {
	_, err := r.run(ctx, unclaimScript, DayKeys(location, d), id)
	return err
}

// Confirm forgets a booked hold and keeps its bits.
func (r *Holds) Confirm(ctx context.Context, location string, d booking.Date, id string) error {
	_, err := r.run(ctx, confirmScript, DayKeys(location, d), id)
	return err
}

// blockJSON is a block as the mark script reads it.
type blockJSON struct {
	ID      string `json:"id"`
	Until   int64  `json:"e"`
	Offsets []int  `json:"o"`
}

// Mark sets booked bits and marks the day loaded; a load that finds the
// day not loaded also adds the blocks still running at now.
func (r *Holds) Mark(ctx context.Context, location string, d booking.Date, keyTTL time.Duration, offsets []int, blocks []booking.Block, now time.Time) error {
	bs := make([]blockJSON, 0, len(blocks))
	for _, b := range blocks {
		if len(b.Offsets) > 0 {
			bs = append(bs, blockJSON{ID: b.ID, Until: b.Until.UnixMilli(), Offsets: b.Offsets})
		}
	}
	raw := []byte("[]") // cjson would read an empty slice's "null" as no array
	if len(bs) > 0 {
		var err error
		if raw, err = json.Marshal(bs); err != nil {
			return err
		}
	}
	args := make([]any, 0, len(offsets)+4)
	args = append(args, int(keyTTL.Seconds()), now.UnixMilli(), versionSeed(), string(raw))
	for _, o := range offsets {
		args = append(args, o)
	}
	_, err := r.run(ctx, markScript, DayKeys(location, d), args...)
	r.snaps.forget(location, d)
	return err
}

// versionSeed is where a freshly loaded day's version starts: random, so
// a day lost and loaded again never repeats a version a snapshot has.
func versionSeed() int64 {
	var b [6]byte
	rand.Read(b[:])
	return int64(b[0])<<40 | int64(b[1])<<32 | int64(b[2])<<24 | int64(b[3])<<16 | int64(b[4])<<8 | int64(b[5])
}

// Block keeps a cancelled booking's units set until until.
func (r *Holds) Block(ctx context.Context, location string, d booking.Date, id string, until, now time.Time, offsets []int) error {
	if len(offsets) == 0 {
		return nil
	}
	args := make([]any, 0, len(offsets)+3)
	args = append(args, now.UnixMilli(), id, until.UnixMilli())
	for _, o := range offsets {
		args = append(args, o)
	}
	_, err := r.run(ctx, blockScript, DayKeys(location, d), args...)
	r.snaps.forget(location, d)
	return err
}

// Unmark clears the bits of cancelled units.
func (r *Holds) Unmark(ctx context.Context, location string, d booking.Date, offsets []int) error {
	if len(offsets) == 0 {
		return nil
	}
	args := make([]any, len(offsets))
	for i, o := range offsets {
		args[i] = o
	}
	_, err := r.run(ctx, unmarkScript, DayKeys(location, d), args...)
	r.snaps.forget(location, d)
	return err
}

// Bitmap returns the day's unit bitmap after sweeping expired holds.
func (r *Holds) Bitmap(ctx context.Context, location string, d booking.Date, now time.Time) ([]byte, error) {
	v, err := r.run(ctx, bitmapScript, DayKeys(location, d), now.UnixMilli())
	if err != nil {
		return nil, err
	}
	snap, err := decodeBitmap(v)
	if err != nil {
		return nil, err
	}
	return snap.bits, nil
}

// decodeBitmap reads the bitmap script's answer.
func decodeBitmap(v any) (*snapshot, error) {
	out, ok := v.([]any)
	if !ok || len(out) != 3 {
		return nil, fmt.Errorf("%w: unexpected bitmap reply %T", booking.ErrUnavailable, v)
	}
	bits, _ := out[0].(string)
	version, _ := out[1].(string)
	next, _ := out[2].(string)
	var nextMs int64
	fmt.Sscan(next, &nextMs)
	return &snapshot{bits: []byte(bits), version: version, nextExpiry: nextMs}, nil
}

// Bitmaps reads several days' bitmaps in one pipeline (on a Redis
// Cluster, one per node holding any of the days; one pipeline per
// maxBatch days). A day not loaded is listed in missing. With snapshots
// on (UseSnapshots), days read recently enough come from the process's
// memory, and days whose version in Redis has not changed since are
// confirmed by one HGET each, pipelined, instead of a script.
func (r *Holds) Bitmaps(ctx context.Context, location string, days []booking.Date, now time.Time) ([][]byte, []int, error) {
	out := make([][]byte, len(days))
	read := make([]int, 0, len(days))
	if r.snaps != nil {
		var err error
		if read, err = r.snaps.serve(ctx, r.rdb, location, days, now, out); err != nil {
			return nil, nil, err
		}
	} else {
		for i := range days {
			read = append(read, i)
		}
	}
	if len(read) == 0 {
		return out, nil, nil
	}
	calls := make([]*scriptCall, len(read))
	for k, i := range read {
		calls[k] = &scriptCall{ctx: ctx, script: bitmapScript, keys: DayKeys(location, days[i]), args: []any{now.UnixMilli()}, done: make(chan struct{})}
	}
	sent := r.snaps.clockNow()
	for lo := 0; lo < len(calls); lo += maxBatch {
		r.batch.exec(calls[lo:min(lo+maxBatch, len(calls))])
	}
	var missing []int
	for k, c := range calls {
		i := read[k]
		switch {
		case c.err == nil:
			snap, err := decodeBitmap(c.val)
			if err != nil {
				return nil, nil, err
			}
			out[i] = snap.bits
			r.snaps.keep(location, days[i], snap, sent)
		case strings.Contains(c.err.Error(), "NOTLOADED"):
			missing = append(missing, i)
		default:
			return nil, nil, fmt.Errorf("%w: %w", booking.ErrUnavailable, c.err)
		}
	}
	return out, missing, nil
}

// Ping checks that Redis answers.
func (r *Holds) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %w", booking.ErrUnavailable, err)
	}
	return nil
}
