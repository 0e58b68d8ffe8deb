-- Ends an admitted request: frees its slot and settles its tokens to what it used.
-- KEYS: per scope two keys: the tpm TAT and the sorted set of slots in use.
-- ARGV[1] tokens reserved; ARGV[2] tokens used; ARGV[3] the slot's name ('' for none);
-- then per scope its tpm limit (0 for none).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local diff = tonumber(ARGV[2]) - tonumber(ARGV[1])
for s = 0, #KEYS / 2 - 1 do
  local limit = tonumber(ARGV[4 + s])
  if limit > 0 and diff ~= 0 then
    local unit = 60000 / limit
    local tat = tonumber(redis.call('GET', KEYS[s * 2 + 1]) or '0')
    local later
    if diff < 0 then
      -- Tokens reserved and not used come back.
      later = tat + diff * unit
    else
      -- Used beyond the reservation: charged, at most one more period owed.
      later = math.min(math.max(tat, now) + diff * unit, now + 120000)
    end
    if later > now then
      redis.call('SET', KEYS[s * 2 + 1], string.format("%.3f", later), "PX", math.ceil(later - now) + 1000)
    else
      redis.call('DEL', KEYS[s * 2 + 1])
    end
  end
  if ARGV[3] ~= '' then
    redis.call('ZREM', KEYS[s * 2 + 2], ARGV[3])
  end
end
return 1
