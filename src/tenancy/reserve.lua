-- Reserves a request's worst-case cost against every budget it is charged to, or none.
-- KEYS: per budget two keys: its spend in the period (USD), and the sorted set of the
-- reservations held ("id:amount", scored by when they lapse).
-- ARGV[1] amount (USD); ARGV[2] the reservation's id; ARGV[3] how long it may be held (ms);
-- then per budget three values: its maximum (USD), the spend to start from when Redis has
-- none (from the records), and when the period's keys may go (Unix ms, 0 for never).
-- Returns {1} or, refused, {0, budget index, spend as a string}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local amount = tonumber(ARGV[1])
local budgets = #KEYS / 2
for b = 0, budgets - 1 do
  local spent_key, held_key = KEYS[b * 2 + 1], KEYS[b * 2 + 2]
  local max, start, expire = tonumber(ARGV[4 + b * 3]), ARGV[5 + b * 3], tonumber(ARGV[6 + b * 3])
  if redis.call('SETNX', spent_key, start) == 1 and expire > 0 then
    redis.call('PEXPIREAT', spent_key, expire)
  end
  local spent = tonumber(redis.call('GET', spent_key))
  redis.call('ZREMRANGEBYSCORE', held_key, '-inf', now)
  local held = 0
  for _, m in ipairs(redis.call('ZRANGE', held_key, 0, -1)) do
    held = held + tonumber(string.match(m, ':([^:]+)$'))
  end
  if spent + held + amount > max + 1e-12 then
    return {0, b, tostring(spent)}
  end
end
local member = ARGV[2] .. ':' .. ARGV[1]
local ttl = tonumber(ARGV[3])
for b = 0, budgets - 1 do
  redis.call('ZADD', KEYS[b * 2 + 2], now + ttl, member)
  redis.call('PEXPIRE', KEYS[b * 2 + 2], ttl)
end
return {1}
