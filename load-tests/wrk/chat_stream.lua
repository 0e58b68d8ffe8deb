-- wrk script: streamed OpenAI chat completion (POST /v1/chat/completions, "stream": true, SSE).
--
--   REQUESTS=20000 THREADS=2 wrk -t2 -c32 -d120s --latency -s load-tests/wrk/chat_stream.lua \
--       http://127.0.0.1:8930/v1/chat/completions
--
-- Env: REQUESTS (total responses, count-bounded run; unset = plain -d run), THREADS (= -t),
--      MODEL (default "tokens;n=16": 16 tokens, one SSE chunk each; a `provider/` prefix such
--      as `an/` is allowed), API_KEY (Bearer, optional),
--      BODY_FILE (optional: send this file's bytes as the body instead of the built-in one;
--      compare.sh uses it to replay, through nginx, the exact body the gateway sent upstream).
-- wrk sees a response when its last chunk arrived, so latency here is time to the LAST token.
-- A 2xx body counts as good when it holds at least one `data: {` event and ends with
-- `data: [DONE]`; for `tokens;n=N` it must also carry the last token `tok<N-1>`.
-- Prints the usual wrk report, then "counted: ..." and a "RESULT ..." line (see counted.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "counted.lua")

local model = os.getenv("MODEL") or "tokens;n=16"
local bare = model:gsub("^[^/;]+/", "", 1)   -- "an/tokens;n=16" -> "tokens;n=16"
local ntokens = tonumber(bare:match("^tokens;.*n=(%d+)") or "")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "text/event-stream"
if os.getenv("API_KEY") and os.getenv("API_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
end
local body_file = os.getenv("BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"), "cannot open BODY_FILE " .. body_file)
  wrk.body = f:read("*a")
  f:close()
else
  wrk.body = string.format(
    '{"model":"%s","stream":true,"messages":[{"role":"user","content":"Count for the load test."}]}',
    model)
end

function lt_check(body)
  if not body:find("data: {", 1, true) then return false end
  if not body:find("data: %[DONE%]%s*$") then return false end
  if ntokens and ntokens > 0 then
    return body:find("tok" .. (ntokens - 1), 1, true) ~= nil
  end
  return true
end
