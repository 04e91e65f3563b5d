package redis

import goredis "github.com/redis/go-redis/v9"

// tokenBucketScript: KEYS bucket; ARGV rate (tokens per second), burst,
// cost. Takes cost tokens when there are enough and returns {1, 0}, else
// {0, ms until there would be}. The clock is Redis's own (TIME).
var tokenBucketScript = goredis.NewScript(`
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil or ts == nil then tokens, ts = burst, now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local ok, wait = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  ok = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
-- A bucket that has refilled completely is the same as no bucket.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {ok, wait}
`)

// windowCountScript: KEYS counter; ARGV ttl ms. Counts one request in a
// fixed window and returns the window's count.
var windowCountScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// scripts lists every script, for preloading with SCRIPT LOAD.
var scripts = append([]*goredis.Script{tokenBucketScript, windowCountScript}, roomScripts...)
