package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/server/fairness"
)

// The waiting room's keys all carry the location as hash tag, so every
// script of one location's room runs on one Redis Cluster node:
//
//	room:{location}:<opens>:q     sorted set session → score: the queue (random scores below 2^52, then 2^52 + arrival)
//	room:{location}:<opens>:seen  sorted set session → last seen (ms)
//	room:{location}:<opens>:adm   hash session → "number:admitted ms"
//	room:{location}:<opens>:arr   hash session → "arrival:joined ms:early"
//	room:{location}:<opens>:meta  hash arrivals, admitted, tokens, ts (the admission bucket)
//	room:{location}:auto          the opening (ms) of the automatic room, while it lasts
//	room:{location}:rate:<sec>    hold requests of one second
//	room:{location}:held:<sec>    holds placed with an admission in one second
//	room:{location}:tok:<nonce>   holds placed with one admission token
//
// <opens> is the release (or the automatic room's start) in Unix
// milliseconds, so each release has a room of its own.
func roomKeys(room fairness.RoomID) []string {
	p := "room:{" + room.Location + "}:" + strconv.FormatInt(room.Opens.UnixMilli(), 10) + ":"
	return []string{p + "q", p + "seen", p + "adm", p + "arr", p + "meta"}
}

func countKey(location, kind string, win int64) string {
	return "room:{" + location + "}:" + kind + ":" + strconv.FormatInt(win, 10)
}

// lateBase is fairness's first late score (2^52), written out exactly:
// Lua would print it with 14 digits.
const lateBase = "4503599627370496"

// roomJoinScript: KEYS q, seen, adm, arr, meta; ARGV session, early score
// (empty after the opening), now ms, keep ms, ttl ms, late base, cutoff ms
// (an admission before it has expired). Returns 0
// when the session has a place (kept or new), -1 when the early score is
// already taken (the caller draws again).
var roomJoinScript = goredis.NewScript(`
local sess, score, now, keep, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local function touch() for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end end
local adm = redis.call('HGET', KEYS[3], sess)
if adm then
  -- Admitted: the place is used up once its admission has expired.
  if tonumber(string.match(adm, ':(%d+)$')) > tonumber(ARGV[7]) then return 0 end
  redis.call('HDEL', KEYS[3], sess)
  redis.call('ZREM', KEYS[2], sess)
end
local seen = redis.call('ZSCORE', KEYS[2], sess)
if seen then
  if tonumber(seen) >= now - keep then
    redis.call('ZADD', KEYS[2], now, sess)
    return 0
  end
  -- Away too long: the old place lapsed; this is a new arrival.
  redis.call('ZREM', KEYS[1], sess)
  redis.call('ZREM', KEYS[2], sess)
end
local early = 1
if score == '' then
  early = 0
elseif redis.call('ZCOUNT', KEYS[1], score, score) > 0 then
  return -1
end
local arrival = redis.call('HINCRBY', KEYS[5], 'arrivals', 1)
if early == 0 then score = string.format('%.0f', tonumber(ARGV[6]) + arrival) end
redis.call('ZADD', KEYS[1], score, sess)
redis.call('ZADD', KEYS[2], now, sess)
redis.call('HSET', KEYS[4], sess, arrival .. ':' .. string.format('%.0f', now) .. ':' .. early)
touch()
return 0
`)

// roomStatusScript: KEYS q, seen, adm, arr, meta, held (the admitted
// holds of the last full second); ARGV session, now ms, keep ms, rate per
// s, burst, opens ms, ttl ms, hold target. First admits from the head of
// the queue as many as the bucket allows (from the opening on; the bucket
// does not fill while the last second's holds reached the target),
// skipping places whose browser has not been seen for keep; then reports
// the session: {1, arrival, joined, early, number, admitted} when
// admitted, {0, arrival, joined, early, ahead (-1 before the opening),
// waiting} when waiting, {-1} when it has no live place.
var roomStatusScript = goredis.NewScript(`
local sess, now, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rate, burst, opens, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
if now >= opens and rate > 0 then
  local m = redis.call('HMGET', KEYS[5], 'tokens', 'ts', 'admitted')
  local tokens, ts, admitted = tonumber(m[1]) or 0, tonumber(m[2]) or opens, tonumber(m[3]) or 0
  if now > ts then
    local target = tonumber(ARGV[8])
    if target <= 0 or (tonumber(redis.call('GET', KEYS[6]) or '0') < target) then
      tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
    end
    ts = now
  end
  -- Bounded work per call: lapsed places are skipped a few thousand at a time.
  local steps = 0
  while tokens >= 1 and steps < 5000 do
    steps = steps + 1
    local head = redis.call('ZRANGE', KEYS[1], 0, 0)
    if #head == 0 then break end
    local s = head[1]
    redis.call('ZREM', KEYS[1], s)
    local seen = tonumber(redis.call('ZSCORE', KEYS[2], s))
    if seen and seen >= now - keep then
      admitted = admitted + 1
      tokens = tokens - 1
      redis.call('HSET', KEYS[3], s, admitted .. ':' .. string.format('%.0f', now))
    else
      redis.call('ZREM', KEYS[2], s)
    end
  end
  redis.call('HSET', KEYS[5], 'tokens', tostring(tokens), 'ts', string.format('%.0f', ts), 'admitted', admitted)
end
local arr = redis.call('HGET', KEYS[4], sess)
if not arr then return {-1} end
local a1, a2, a3 = string.match(arr, '^(%d+):(%d+):(%d)$')
local adm = redis.call('HGET', KEYS[3], sess)
if adm then
  local n, at = string.match(adm, '^(%d+):(%d+)$')
  return {1, tonumber(a1), tonumber(a2), tonumber(a3), tonumber(n), tonumber(at)}
end
local seen = redis.call('ZSCORE', KEYS[2], sess)
if not seen or tonumber(seen) < now - keep then
  redis.call('ZREM', KEYS[1], sess)
  redis.call('ZREM', KEYS[2], sess)
  redis.call('HDEL', KEYS[4], sess)
  return {-1}
end
redis.call('ZADD', KEYS[2], now, sess)
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
local ahead = -1
if now >= opens then ahead = redis.call('ZRANK', KEYS[1], sess) or -1 end
return {0, tonumber(a1), tonumber(a2), tonumber(a3), ahead, redis.call('ZCARD', KEYS[1])}
`)

// roomAutoScript: KEYS auto; ARGV trigger (1/0), now ms, ttl ms. Returns
// the automatic room's opening, switching one on (or prolonging it) when
// triggered; false when none.
var roomAutoScript = goredis.NewScript(`
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
end
return redis.call('GET', KEYS[1])
`)

// roomSpendScript: KEYS count; ARGV max, ttl ms. Counts one hold, or
// refuses (0) when max are counted.
var roomSpendScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
`)

// roomRefundScript: KEYS count. Gives one hold back.
var roomRefundScript = goredis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
`)

var roomScripts = []*goredis.Script{roomJoinScript, roomStatusScript, roomAutoScript, roomSpendScript, roomRefundScript}

// Join implements fairness.RoomStore.
func (s *Store) Join(ctx context.Context, room fairness.RoomID, session string, score *uint64, now time.Time, keep, admitted, ttl time.Duration) (fairness.Entry, error) {
	sc := ""
	if score != nil {
		sc = strconv.FormatUint(*score, 10)
	}
	n, err := roomJoinScript.Run(ctx, s.rdb, roomKeys(room), session, sc, now.UnixMilli(), keep.Milliseconds(), ttl.Milliseconds(), lateBase, now.Add(-admitted).UnixMilli()).Int64()
	if err != nil {
		return fairness.Entry{}, fmt.Errorf("join waiting room: %w", err)
	}
	if n == -1 {
		return fairness.Entry{}, fairness.ErrScoreTaken
	}
	// The join never admits by itself; the status script does, so the
	// order of admission is decided in one place.
	return s.Status(ctx, room, session, fairness.AdmissionRate{}, now, keep, ttl)
}

// Status implements fairness.RoomStore.
func (s *Store) Status(ctx context.Context, room fairness.RoomID, session string, rate fairness.AdmissionRate, now time.Time, keep, ttl time.Duration) (fairness.Entry, error) {
	keys := append(roomKeys(room), countKey(room.Location, fairness.CountAdmittedHolds, now.Unix()-1))
	v, err := roomStatusScript.Run(ctx, s.rdb, keys, session, now.UnixMilli(), keep.Milliseconds(),
		strconv.FormatFloat(rate.Rate, 'f', -1, 64), max(rate.Burst, 1), room.Opens.UnixMilli(), ttl.Milliseconds(), rate.HoldTarget).Int64Slice()
	if err != nil {
		return fairness.Entry{}, fmt.Errorf("waiting room status: %w", err)
	}
	if len(v) == 1 && v[0] == -1 {
		return fairness.Entry{}, fairness.ErrNotInRoom
	}
	if len(v) != 6 {
		return fairness.Entry{}, fmt.Errorf("waiting room status reply %v", v)
	}
	e := fairness.Entry{Arrival: v[1], JoinedAt: time.UnixMilli(v[2]).UTC(), Early: v[3] == 1}
	if v[0] == 1 {
		e.Admitted, e.Number, e.AdmittedAt = true, v[4], time.UnixMilli(v[5]).UTC()
		return e, nil
	}
	e.Ahead, e.Waiting = v[4], v[5]
	return e, nil
}

// CountRequest implements fairness.RoomStore.
func (s *Store) CountRequest(ctx context.Context, location, kind string, win int64, ttl time.Duration) (int64, error) {
	n, err := windowCountScript.Run(ctx, s.rdb, []string{countKey(location, kind, win)}, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("count requests: %w", err)
	}
	return n, nil
}

// AutoRoom implements fairness.RoomStore.
func (s *Store) AutoRoom(ctx context.Context, location string, trigger bool, now time.Time, ttl time.Duration) (time.Time, bool, error) {
	t := "0"
	if trigger {
		t = "1"
	}
	ms, err := roomAutoScript.Run(ctx, s.rdb, []string{"room:{" + location + "}:auto"}, t, now.UnixMilli(), ttl.Milliseconds()).Int64()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("automatic waiting room: %w", err)
	}
	return time.UnixMilli(ms).UTC(), true, nil
}

// SpendAdmission implements fairness.RoomStore.
func (s *Store) SpendAdmission(ctx context.Context, location, nonce string, max int, ttl time.Duration) (bool, error) {
	n, err := roomSpendScript.Run(ctx, s.rdb, []string{"room:{" + location + "}:tok:" + nonce}, max, ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("spend admission: %w", err)
	}
	return n == 1, nil
}

// RefundAdmission implements fairness.RoomStore.
func (s *Store) RefundAdmission(ctx context.Context, location, nonce string) error {
	if err := roomRefundScript.Run(ctx, s.rdb, []string{"room:{" + location + "}:tok:" + nonce}).Err(); err != nil {
		return fmt.Errorf("refund admission: %w", err)
	}
	return nil
}

// Waiting implements fairness.RoomStore: admitted places leave the
// queue's sorted set, so its size is the number still waiting.
func (s *Store) Waiting(ctx context.Context, room fairness.RoomID) (int64, error) {
	n, err := s.rdb.ZCard(ctx, roomKeys(room)[0]).Result()
	if err != nil {
		return 0, fmt.Errorf("waiting room length: %w", err)
	}
	return n, nil
}
