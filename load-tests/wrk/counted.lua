-- Count-bounded wrk runs, shared by chat.lua and chat_stream.lua (they `dofile` this file).
--
-- wrk itself only knows duration-bounded runs. Here every thread takes a share of
--   REQUESTS (env, total number of responses wanted; unset or 0 = no bound, plain -d run)
-- split over
--   THREADS  (env, MUST equal wrk's -t; default 1),
-- counts its responses in response() and calls wrk.thread:stop() once it has its share.
-- wrk's main thread sleeps for the whole -d whatever the workers do, so the last thread to
-- finish sends SIGINT to wrk, which wakes it up and makes it print its report at once.
-- Use a generous -d (e.g. 120s) as an upper bound.
--
-- done() prints a human line and one machine-readable line:
--   RESULT requests=N non2xx=N badbody=N elapsed_s=S rps=R p50_us=A p99_us=B
--          errors_connect=N errors_read=N errors_write=N errors_timeout=N bounded=0|1
-- `elapsed_s` runs from the threads' start to the moment the last one reached its share
-- (wrk's own "Requests/sec" also counts the short delay until the SIGINT lands).
-- `badbody` counts 2xx responses whose body failed the script's check (see `lt_check`).

local has_ffi, ffi = pcall(require, "ffi")
if has_ffi then
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } lt_timespec;
    int clock_gettime(int clock_id, lt_timespec *ts);
    int getpid(void);
    int kill(int pid, int sig);
  ]]
end

local function now_s()
  if has_ffi then
    local ts = ffi.new("lt_timespec")
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
  end
  return os.time()
end

local function interrupt_wrk()
  if has_ffi then
    ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: ends wrk's sleep(duration) in the main thread
  else
    os.execute("kill -INT $PPID 2>/dev/null") -- the shell's parent is wrk
  end
end

local function env_number(name, default)
  local v = tonumber(os.getenv(name) or "")
  if v == nil then return default end
  return math.floor(v)
end

-- ---------------------------------------------------------------- main Lua state (setup, done)
local threads = {}
local done_file = nil

function setup(thread)
  local id = #threads
  if id == 0 then done_file = os.tmpname() end
  thread:set("lt_id", id)
  thread:set("lt_done_file", done_file)
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- per-thread Lua states
lt_id, lt_done_file = 0, nil
lt_share, lt_nthreads = 0, 1
lt_responses, lt_non2xx, lt_badbody = 0, 0, 0
lt_statuses = {}
lt_t0, lt_t1 = nil, nil
local stopped = false

function init(args)
  local total = env_number("REQUESTS", 0)
  lt_nthreads = math.max(env_number("THREADS", 1), 1)
  if total > 0 then
    lt_share = math.floor(total / lt_nthreads)
    if lt_id < total % lt_nthreads then lt_share = lt_share + 1 end
    if lt_share == 0 then lt_share = 1 end
  end
  lt_t0 = now_s()
end

local function reached_share()
  stopped = true
  lt_t1 = now_s()
  wrk.thread:stop()
  -- Tell the others (other Lua states, so through a file) and wake wrk when we are the last.
  local f = io.open(lt_done_file, "a")
  if f then
    f:write(lt_id, "\n")
    f:close()
  end
  local finished = 0
  for _ in io.lines(lt_done_file) do finished = finished + 1 end
  if finished >= lt_nthreads then interrupt_wrk() end
end

function response(status, headers, body)
  -- Responses completing in the same event-loop turn as the stop still count: the proxy
  -- did the work for them.
  lt_responses = lt_responses + 1
  if status < 200 or status > 299 then
    lt_non2xx = lt_non2xx + 1
    local k = tostring(status)
    lt_statuses[k] = (lt_statuses[k] or 0) + 1
  elseif lt_check and not lt_check(body) then
    lt_badbody = lt_badbody + 1
  end
  if lt_share > 0 and not stopped and lt_responses >= lt_share then
    reached_share()
  end
end

function done(summary, latency, requests)
  local total, non2xx, badbody = 0, 0, 0
  local statuses = {}
  local t0, t1, all_stopped = nil, nil, true
  for _, t in ipairs(threads) do
    total = total + (t:get("lt_responses") or 0)
    non2xx = non2xx + (t:get("lt_non2xx") or 0)
    badbody = badbody + (t:get("lt_badbody") or 0)
    for k, v in pairs(t:get("lt_statuses") or {}) do statuses[k] = (statuses[k] or 0) + v end
    local a, b = t:get("lt_t0"), t:get("lt_t1")
    if a and (t0 == nil or a < t0) then t0 = a end
    if b == nil then all_stopped = false elseif t1 == nil or b > t1 then t1 = b end
  end
  local nthreads = threads[1] and threads[1]:get("lt_nthreads") or 1
  local bounded = (threads[1] and (threads[1]:get("lt_share") or 0) > 0) and 1 or 0
  if bounded == 1 and nthreads ~= #threads then
    io.stderr:write(string.format("counted.lua: THREADS=%d but wrk ran %d threads: set THREADS to wrk's -t\n",
      nthreads, #threads))
  end
  local elapsed = summary.duration / 1e6
  if bounded == 1 and all_stopped and has_ffi and t0 and t1 and t1 > t0 then elapsed = t1 - t0 end
  local rps = elapsed > 0 and total / elapsed or 0
  local e = summary.errors
  print(string.format("counted: %d responses (%d non-2xx, %d bad bodies) in %.3fs = %.1f req/s",
    total, non2xx, badbody, elapsed, rps))
  for k, v in pairs(statuses) do print(string.format("  status %s: %d", k, v)) end
  print(string.format(
    "RESULT requests=%d non2xx=%d badbody=%d elapsed_s=%.4f rps=%.1f p50_us=%d p99_us=%d " ..
    "errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d bounded=%d",
    total, non2xx, badbody, elapsed, rps, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, bounded))
  if done_file then os.remove(done_file) end
end
