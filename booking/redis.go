package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis side of reservations. All keys of one location-day share the
// hash tag {location:day}, so every script touches a single hash slot and
// runs unchanged on Redis Cluster:
//
//	{loc:day}:units  bitmap, bit cell*capacity+unit is 1 while held or booked
//	{loc:day}:holds  hash hold id -> JSON record (units, bit offsets, expiry)
//	{loc:day}:exp    sorted set hold id -> expiry (unix ms)
//	{loc:day}:meta   hash; field "loaded" is set once the day's confirmed
//	                 bookings have been copied in from PostgreSQL
//
// Expired holds are swept lazily at the start of every script, using the
// caller's clock, so no process needs to run a timer. A script that finds
// the day not loaded answers NOTLOADED; the caller loads the day from
// PostgreSQL and retries, which is how Redis state comes back after loss.

// scriptPrelude is shared by every script that reads or changes holds.
const scriptPrelude = `
local units, holds, exp, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function sweep(now)
  local ids = redis.call('ZRANGEBYSCORE', exp, '-inf', now)
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
redis.call('HSET', holds, id, cjson.encode(rec))
redis.call('ZADD', exp, expires, id)
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

// markScript: ARGV ttl, offset... Sets booked bits and marks the day
// loaded. Only ever sets bits, so a load racing with live holds or a second
// loader cannot free anything.
var markScript = newScript(scriptPrelude + `
for i = 2, #ARGV do redis.call('SETBIT', units, tonumber(ARGV[i]), 1) end
redis.call('HSET', meta, 'loaded', 1)
keep(tonumber(ARGV[1]))
return 1
`)

// unmarkScript: ARGV offset... Clears the bits of cancelled units. A day
// that is not loaded is left alone: loading it later reads PostgreSQL,
// where the units are already free.
var unmarkScript = newScript(scriptPrelude + `
if not loaded() then return 0 end
for i = 1, #ARGV do redis.call('SETBIT', units, tonumber(ARGV[i]), 0) end
return 1
`)

// bitmapScript: ARGV now. Sweeps expired holds and returns the day's
// bitmap (nil when nothing is taken).
var bitmapScript = newScript(scriptPrelude + `
if not loaded() then return redis.error_reply('NOTLOADED') end
sweep(tonumber(ARGV[1]))
return redis.call('GET', units)
`)

// scriptSource keeps each script's Lua, so a test can check which keys it
// touches.
var scriptSource = map[*redis.Script]string{}

func newScript(src string) *redis.Script {
	s := redis.NewScript(src)
	scriptSource[s] = src
	return s
}

// HoldScriptHash is the SHA-1 that EVALSHA runs a hold by, so a benchmark
// can measure Redis's raw ceiling with the very script a hold runs.
func HoldScriptHash() string { return holdScript.Hash() }

// Scripts lists every Lua script, for preloading with SCRIPT LOAD.
var scripts = []*redis.Script{holdScript, releaseScript, claimScript, unclaimScript, confirmScript, markScript, unmarkScript, bitmapScript}

var errNotLoaded = errors.New("location-day not loaded into redis")

// RedisHolds keeps holds and the availability bitmap in Redis.
type RedisHolds struct {
	rdb   redis.UniversalClient
	batch *scriptBatcher
}

// NewRedisHolds uses rdb, a single Redis or a Redis Cluster client.
func NewRedisHolds(rdb redis.UniversalClient) *RedisHolds {
	return &RedisHolds{rdb: rdb, batch: &scriptBatcher{rdb: rdb}}
}

// Preload loads every script so the first EVALSHA under load does not miss.
func (r *RedisHolds) Preload(ctx context.Context) error {
	for _, s := range scripts {
		if err := s.Load(ctx, r.rdb).Err(); err != nil {
			return fmt.Errorf("load redis script: %w", err)
		}
	}
	return nil
}

// dayKeys are the keys of one location-day, in the order the scripts expect.
func dayKeys(locationID string, d Date) []string {
	tag := "{" + locationID + ":" + d.String() + "}"
	return []string{tag + ":units", tag + ":holds", tag + ":exp", tag + ":meta"}
}

// holdRecord is what a hold keeps in Redis besides its bits.
type holdRecord struct {
	Service string `json:"s"`
	Start   int64  `json:"t"` // unix ms
	End     int64  `json:"n"` // unix ms
	Units   []int  `json:"u,omitempty"`
	Offsets []int  `json:"o,omitempty"`
	Expires int64  `json:"e,omitempty"`
}

// run evaluates a script (EVALSHA, falling back to EVAL on NOSCRIPT) and
// classifies the failure.
func (r *RedisHolds) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	v, err := r.batch.run(ctx, s, keys, args...)
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		return v, nil
	case strings.Contains(err.Error(), "NOTLOADED"):
		return nil, errNotLoaded
	default:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

type holdRequest struct {
	id       string
	day      Date
	location string
	capacity int
	first    int
	cells    int
	units    int
	now      time.Time
	expires  time.Time
	keyTTL   time.Duration
	record   holdRecord
}

// hold takes units or reports how many are free.
func (r *RedisHolds) hold(ctx context.Context, q holdRequest) (units []int, free int, err error) {
	rec, err := json.Marshal(q.record)
	if err != nil {
		return nil, 0, err
	}
	v, err := r.run(ctx, holdScript, dayKeys(q.location, q.day),
		q.now.UnixMilli(), q.id, q.expires.UnixMilli(), q.capacity, q.first, q.cells, q.units,
		int(q.keyTTL.Seconds()), string(rec))
	if err != nil {
		return nil, 0, err
	}
	out, ok := v.([]any)
	if !ok || len(out) < 1 {
		return nil, 0, fmt.Errorf("%w: unexpected hold reply %v", ErrUnavailable, v)
	}
	if out[0].(int64) == 0 {
		return nil, int(out[1].(int64)), ErrSlotFull
	}
	for _, u := range out[1:] {
		units = append(units, int(u.(int64)))
	}
	return units, 0, nil
}

// release frees a live hold's units; a claimed hold only when force is
// set, which is for a booking that failed after its claim.
func (r *RedisHolds) release(ctx context.Context, location string, d Date, id string, now time.Time, force bool) (bool, error) {
	flag := 0
	if force {
		flag = 1
	}
	v, err := r.run(ctx, releaseScript, dayKeys(location, d), now.UnixMilli(), id, flag)
	if err != nil {
		return false, err
	}
	return v == int64(1), nil
}

// claim returns the live hold and extends it to at least until.
func (r *RedisHolds) claim(ctx context.Context, location string, d Date, id string, now, until time.Time) (*holdRecord, error) {
	v, err := r.run(ctx, claimScript, dayKeys(location, d), now.UnixMilli(), id, until.UnixMilli())
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, nil
	}
	var rec holdRecord
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return nil, fmt.Errorf("decode hold record: %w", err)
	}
	return &rec, nil
}

func (r *RedisHolds) unclaim(ctx context.Context, location string, d Date, id string) error {
	_, err := r.run(ctx, unclaimScript, dayKeys(location, d), id)
	return err
}

func (r *RedisHolds) confirm(ctx context.Context, location string, d Date, id string) error {
	_, err := r.run(ctx, confirmScript, dayKeys(location, d), id)
	return err
}

func (r *RedisHolds) mark(ctx context.Context, location string, d Date, keyTTL time.Duration, offsets []int) error {
	args := make([]any, 0, len(offsets)+1)
	args = append(args, int(keyTTL.Seconds()))
	for _, o := range offsets {
		args = append(args, o)
	}
	_, err := r.run(ctx, markScript, dayKeys(location, d), args...)
	return err
}

func (r *RedisHolds) unmark(ctx context.Context, location string, d Date, offsets []int) error {
	if len(offsets) == 0 {
		return nil
	}
	args := make([]any, len(offsets))
	for i, o := range offsets {
		args[i] = o
	}
	_, err := r.run(ctx, unmarkScript, dayKeys(location, d), args...)
	return err
}

// bitmap returns the day's unit bitmap after sweeping expired holds.
func (r *RedisHolds) bitmap(ctx context.Context, location string, d Date, now time.Time) ([]byte, error) {
	v, err := r.run(ctx, bitmapScript, dayKeys(location, d), now.UnixMilli())
	if err != nil {
		return nil, err
	}
	s, _ := v.(string)
	return []byte(s), nil
}

// Ping checks that Redis answers.
func (r *RedisHolds) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// bitSet reports whether bit off of a Redis bitmap is 1 (Redis numbers bits
// from the most significant bit of the first byte).
func bitSet(bm []byte, off int) bool {
	i := off / 8
	return i < len(bm) && bm[i]&(0x80>>(off%8)) != 0
}

// holdIDSep separates the parts of a hold id: location, day and a random
// part. Carrying location and day in the id lets any replica find the
// hold's keys without a lookup.
const holdIDSep = "."

func newHoldID(location string, d Date) string {
	return location + holdIDSep + fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) + holdIDSep + randomCode(16)
}

func parseHoldID(id string) (location string, d Date, ok bool) {
	parts := strings.Split(id, holdIDSep)
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 8 || len(parts[2]) != 16 {
		return "", Date{}, false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return "", Date{}, false
	}
	d = Date{n / 10000, time.Month(n / 100 % 100), n % 100}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return "", Date{}, false
	}
	return parts[0], d, true
}
