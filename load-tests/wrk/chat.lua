-- wrk script: non-streamed OpenAI chat completion (POST /v1/chat/completions, "stream": false).
--
--   REQUESTS=20000 THREADS=2 wrk -t2 -c32 -d120s --latency -s load-tests/wrk/chat.lua \
--       http://127.0.0.1:8930/v1/chat/completions
--
-- Env: REQUESTS (total responses, count-bounded run; unset = plain -d run), THREADS (= -t),
--      MODEL (default "echo"), API_KEY (sent as "Authorization: Bearer ..." when set).
-- A 2xx body counts as good when it holds a "choices" array (for `echo`: the prompt too).
-- Prints the usual wrk report, then "counted: ..." and a "RESULT ..." line (see counted.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "counted.lua")

local model = os.getenv("MODEL") or "echo"
local prompt = "Say hello to the load test."

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("API_KEY") and os.getenv("API_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
end
wrk.body = string.format(
  '{"model":"%s","stream":false,"messages":[{"role":"user","content":"%s"}]}', model, prompt)

function lt_check(body)
  if not body:find('"choices"', 1, true) then return false end
  if model == "echo" then return body:find(prompt, 1, true) ~= nil end
  return true
end
