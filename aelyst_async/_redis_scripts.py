"""
The Lua scripts of `RedisRateLimiter`: every change to a shared bucket, each run atomically.

Rules (the state of one quota key, in two Redis keys that share a hash tag):

1. `KEYS[1]`, a hash: `mode` (`p` probing, `m` metered, `u` unmetered, `a` adaptive; absent
   is probing), `cap`, `rate`, `tokens` (the tokens at time `at`, which may lie in the
   future: a reservation or a freeze moves it forward), `at`, `frozen` (paused until),
   `probe` (the probe's expiry, 0 when free) and `powner`, `win` and `wk` (the window and
   whether `X-RateLimit-Reset` taught it), `step`, `cut` and `ans` (the adaptation).
2. `KEYS[2]`, a sorted set of the requests in flight, each scored by when it stops counting
   (its grant time plus `window / 2`): a process killed mid-request holds its place no
   longer than that.
3. Times are the Redis server's `TIME` (`ARGV[1]` empty), so the hosts' clocks never meet;
   tests pass a fake time in `ARGV[1]`.
4. Numbers leave a script as strings: Redis would truncate a Lua number to an integer.
5. Both keys expire `ttl` seconds after the last change, or after the freeze ends if later.
6. The rules of `_limiter` hold: the same probe, in-flight ceiling, correction, freeze,
   window and adaptation, with the same constants passed in from Python.
"""

from __future__ import annotations

__all__ = ["CLEAR_FREEZE", "GIVE_BACK", "LEARN", "RESERVE"]

_PRELUDE = """
local function num(value, default)
  if value == false or value == nil or value == '' then return default end
  return tonumber(value)
end
local now = num(ARGV[1], nil)
if now == nil then
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local h = {}
local fields = {'mode', 'cap', 'rate', 'tokens', 'at', 'frozen', 'probe', 'powner', 'win',
                'wk', 'step', 'cut', 'ans'}
local values = redis.call('HMGET', KEYS[1], unpack(fields))
for i, name in ipairs(fields) do h[name] = values[i] end
local mode = h.mode or 'p'
local cap, rate, tokens = num(h.cap, 0), num(h.rate, 0), num(h.tokens, 0)
local at, frozen, probe = num(h.at, now), num(h.frozen, 0), num(h.probe, 0)
local powner = h.powner or ''
local paced = mode == 'm' or mode == 'a'
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local function ceiling() return cap - redis.call('ZCARD', KEYS[2]) end
local function accrue()
  if paced and now > at and now >= frozen then
    tokens = math.max(tokens, math.min(ceiling(), tokens + (now - at) * rate))
    at = now
  end
end
local function save(ttl)
  redis.call('HSET', KEYS[1], 'mode', mode, 'cap', tostring(cap), 'rate', tostring(rate),
    'tokens', tostring(tokens), 'at', tostring(at), 'frozen', tostring(frozen),
    'probe', tostring(probe), 'powner', powner)
  local ms = math.ceil((math.max(0, frozen - now) + ttl) * 1000)
  redis.call('PEXPIRE', KEYS[1], ms)
  redis.call('PEXPIRE', KEYS[2], ms)
end
"""

RESERVE = (
    _PRELUDE
    + """
-- ARGV: now, member, transit, probe timeout, poll, ttl, most wait, member to release
local member, transit, probe_timeout = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local poll, ttl, most = tonumber(ARGV[5]), tonumber(ARGV[6]), num(ARGV[7], nil)
if ARGV[8] ~= '' and powner == ARGV[8] then probe, powner = 0, '' end
accrue()
local wait
local paused = tostring(math.max(0, frozen - now))
if now < frozen and not paced then
  wait = frozen - now
  if most ~= nil and wait > most then return {'late', tostring(wait), paused} end
  return {'again', tostring(wait), paused}
end
if mode == 'p' then
  if probe > now then return {'again', tostring(math.min(poll, probe - now)), paused} end
  probe, powner, wait = now + probe_timeout, member, 0
elseif mode == 'u' then
  wait = 0
else
  local due = math.max(now, at + math.max(0, 1 - tokens) / rate)
  wait = due - now
  if most ~= nil and wait > most then return {'late', tostring(wait), paused} end
  if tokens >= 1 then tokens = tokens - 1 else tokens, at = 0, due end
end
redis.call('ZADD', KEYS[2], now + wait + transit, member)
save(ttl)
return {'granted', tostring(wait), paused}
"""
)
"""Reserve one request: granted (after `wait` seconds), `again` (ask again after `wait`:
the probe is taken or the key paused), or `late` (not within the most wait allowed); with
the seconds the key is still paused for."""

LEARN = (
    _PRELUDE
    + """
-- ARGV: now, status, limit, remaining, retry after, reset, window, default retry after,
--       increase steps, min rate, ttl
local status, limit, remaining = tonumber(ARGV[2]), num(ARGV[3], nil), num(ARGV[4], nil)
local retry_after, reset = num(ARGV[5], nil), num(ARGV[6], nil)
local default_retry_after, steps = tonumber(ARGV[8]), tonumber(ARGV[9])
local min_rate, ttl = tonumber(ARGV[10]), tonumber(ARGV[11])
local win, wk = num(h.win, tonumber(ARGV[7])), num(h.wk, 0)
local step, cut, ans = num(h.step, 0), num(h.cut, now), num(h.ans, 0)
local fresh = now >= frozen
accrue()
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
if oldest[1] then redis.call('ZREM', KEYS[2], oldest[1]) end
if mode == 'p' then probe, powner = 0, '' end

local function top()
  if mode == 'a' then return math.huge end
  return cap / win
end
local function set_rate(value)
  rate = math.max(min_rate, math.min(value, top()))
  if rate >= top() then step = 0 end
  if mode == 'a' then cap = math.max(1, math.floor(rate * win + 1e-9)) end
end

if limit ~= nil and limit >= 1 then
  if mode ~= 'm' then
    mode, paced, cap = 'm', true, limit
    rate, step, cut, ans = limit / win, 0, now, 0
    tokens, at = math.max(0, math.min(remaining or 0, ceiling())), now
    if now < frozen then tokens, at = 0, frozen - 1 / rate end
  else
    if limit ~= cap then
      local ratio = limit / cap
      cap = limit
      if step > 0 then set_rate(rate * ratio) else set_rate(top()) end
      tokens = math.max(0, math.min(tokens, ceiling()))
    end
    if remaining ~= nil and at <= now and remaining < tokens - 1 then
      tokens = math.max(0, remaining)
    end
  end
elseif mode == 'p' and status >= 200 and status < 300 then
  mode, cut, ans = 'u', now, 0
end

-- Window and adaptation (rules 9 and 10 of _limiter).
if reset ~= nil and reset > 0 and (wk == 0 or reset > win) then
  win, wk = reset, 1
  if mode == 'm' then step = 0; set_rate(top()) end
end
if status < 400 then
  ans = ans + 1
  if step > 0 and paced then set_rate(rate + step) end
elseif status == 429 and fresh and wk == 0 and mode ~= 'p' then
  local admitted = ans / math.max(now - math.max(cut, frozen), win)
  if mode == 'u' then
    mode, paced, rate, tokens, at = 'a', true, math.huge, 0, now
  end
  local base = rate
  if ans > 0 and admitted < rate / 2 then base = admitted end
  if base == math.huge then base = 1 / win end
  set_rate(base / 2)
  step, cut, ans = rate / steps, now, 0
end

-- Freeze (rule 5 of _limiter).
if status == 429 and retry_after == nil then retry_after = default_retry_after end
if status >= 400 and retry_after ~= nil then
  tokens = 0
  if now + retry_after > frozen then frozen = now + retry_after end
  -- Never before a token already reserved: a reservation is a request on its way.
  if paced then at = math.max(at, frozen - 1 / rate) else at = now end
end
redis.call('HSET', KEYS[1], 'win', tostring(win), 'wk', tostring(wk), 'step', tostring(step),
  'cut', tostring(cut), 'ans', tostring(ans))
save(ttl)
return {mode, tostring(math.max(0, frozen - now)), tostring(rate)}
"""
)
"""Learn from one response: returns the mode, the seconds the key is paused for from now,
and the refill rate."""

GIVE_BACK = (
    _PRELUDE
    + """
-- ARGV: now, member, ttl
local member, ttl = ARGV[2], tonumber(ARGV[3])
if redis.call('ZREM', KEYS[2], member) == 0 then return 0 end
accrue()
if paced and now >= frozen then
  if at > now then
    at = math.max(now, at - 1 / rate)
  else
    tokens = math.min(math.max(tokens, ceiling()), tokens + 1)
  end
elseif mode == 'p' and powner == member then
  probe, powner = 0, ''
end
save(ttl)
return 1
"""
)
"""Give back a reservation a cancelled waiter did not use."""

CLEAR_FREEZE = (
    _PRELUDE
    + """
-- ARGV: now, ttl
local ttl = tonumber(ARGV[2])
if now >= frozen then return 0 end
local early = frozen - now
frozen = now
if paced then
  -- As a pause ending now: one token now, and what was reserved behind it moves forward.
  at = math.max(now - 1 / rate, at - early)
end
save(ttl)
return 1
"""
)
"""End a pause now, for every process on the key."""
