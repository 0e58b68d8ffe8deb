-- Settles a reservation: it is released and the actual cost added to each budget's spend.
-- KEYS: per budget its spend key and its reservations' key (as reserve.lua).
-- ARGV[1] the reservation's member ("id:amount"); ARGV[2] the actual cost (USD).
local actual = tonumber(ARGV[2])
for b = 0, #KEYS / 2 - 1 do
  redis.call('ZREM', KEYS[b * 2 + 2], ARGV[1])
  if actual > 0 and redis.call('EXISTS', KEYS[b * 2 + 1]) == 1 then
    redis.call('INCRBYFLOAT', KEYS[b * 2 + 1], ARGV[2])
  end
end
return 1
