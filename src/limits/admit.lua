-- Admits one request against the limits of its scopes (a key, its team), all or nothing.
-- KEYS: per scope four keys: the TATs of rpm, rpd and tpm, and the sorted set of slots in use.
-- ARGV[1] tokens to reserve; ARGV[2] requests wanted (a lease, at least 1); ARGV[3] this
-- request's slot name; ARGV[4] how long a slot is held at most (ms); then per scope four
-- limits, 0 for none: rpm, rpd, tpm, concurrent.
-- GCRA: a TAT (ms, Redis's clock) per limit, as the gateway's own limiter keeps it.
-- Returns {1, granted, rpm limit, remaining, reset ms, tpm limit, remaining, reset ms}
-- (limit -1: none) or, refused, {0, kind (1 rpm, 2 rpd, 3 tpm, 4 concurrent), limit, retry ms, scope}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens = tonumber(ARGV[1])
local periods = {60000, 86400000, 60000}
local scopes = #KEYS / 4

local function check(want)
  local writes = {}
  local head = {-1, 0, 0, -1, 0, 0}
  for s = 0, scopes - 1 do
    local k, a = s * 4, 4 + s * 4
    local concurrent = tonumber(ARGV[a + 4])
    if concurrent > 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[k + 4], '-inf', now)
      if redis.call('ZCARD', KEYS[k + 4]) >= concurrent then
        return nil, {0, 4, concurrent, 1000, s}
      end
    end
    for j = 1, 3 do
      local limit = tonumber(ARGV[a + j])
      if limit > 0 then
        local period = periods[j]
        local cost = want
        if j == 3 then cost = tokens end
        local unit = period / limit
        local tat = tonumber(redis.call('GET', KEYS[k + j]) or '0')
        local start = math.max(tat, now)
        local later = start + unit * cost
        if later - now > period then
          local retry = later - now - period
          if cost > limit then retry = period end
          return nil, {0, j, limit, math.max(1, math.ceil(retry)), s}
        end
        writes[#writes + 1] = {KEYS[k + j], later}
        local h = nil
        if j == 1 then h = 1 elseif j == 3 then h = 4 end
        if h and head[h] < 0 then
          head[h] = limit
          head[h + 1] = math.floor((period - (later - now)) / unit)
          head[h + 2] = math.ceil(later - now)
        end
      end
    end
  end
  return writes, head
end

local want = tonumber(ARGV[2])
local writes, head = check(want)
if not writes and want > 1 then
  want = 1
  writes, head = check(1)
end
if not writes then
  return head
end
for _, w in ipairs(writes) do
  redis.call('SET', w[1], string.format('%.3f', w[2]), 'PX', math.ceil(w[2] - now) + 1000)
end
local ttl = tonumber(ARGV[4])
for s = 0, scopes - 1 do
  if tonumber(ARGV[4 + s * 4 + 4]) > 0 then
    redis.call('ZADD', KEYS[s * 4 + 4], now + ttl, ARGV[3])
    redis.call('PEXPIRE', KEYS[s * 4 + 4], ttl)
  end
end
return {1, want, head[1], head[2], head[3], head[4], head[5], head[6]}
