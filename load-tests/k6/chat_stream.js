// k6 load test: streamed (SSE) OpenAI chat completions through llm-gateway.
//
//   k6 run load-tests/k6/chat_stream.js
//   BASE_URL=http://127.0.0.1:8930 MODEL='tokens;n=16' VUS=32 DURATION=30s k6 run load-tests/k6/chat_stream.js
//   ITERATIONS=20000 k6 run load-tests/k6/chat_stream.js   # count-bounded instead of timed
//
// Env: BASE_URL (default http://127.0.0.1:8930), MODEL (default "tokens;n=16": the mock streams
// 16 tokens "tok0 tok1 ...", one SSE chunk each), VUS (32), DURATION (30s), ITERATIONS,
// API_KEY (Bearer, optional), P99_MS (threshold on the full response time, default 500).
// k6 reads the whole response, so http_req_duration is the time to the LAST event and
// http_req_waiting approximates the time to the first byte.
// Checks: status 200, Content-Type text/event-stream, every `data:` line is JSON or [DONE], the
// stream ends with `data: [DONE]`, and the deltas join to the expected text ("tokens;n=N":
// "tok0 ... tok<N-1>"; other models: non-empty).

import http from 'k6/http';
import { check } from 'k6';
import { Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8930').replace(/\/+$/, '');
const MODEL = __ENV.MODEL || 'tokens;n=16';
const VUS = parseInt(__ENV.VUS || '32', 10);
const P99_MS = parseInt(__ENV.P99_MS || '500', 10);

const tokensMatch = /^tokens;(?:.*;)?n=(\d+)/.exec(MODEL);
const EXPECTED = tokensMatch
  ? Array.from({ length: parseInt(tokensMatch[1], 10) }, (_, i) => `tok${i}`).join(' ')
  : null;

const sseEvents = new Trend('sse_events_per_response');

export const options = {
  scenarios: {
    chat_stream: __ENV.ITERATIONS
      ? { executor: 'shared-iterations', vus: VUS, iterations: parseInt(__ENV.ITERATIONS, 10), maxDuration: '10m' }
      : { executor: 'constant-vus', vus: VUS, duration: __ENV.DURATION || '30s' },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
    'http_req_duration{expected_response:true}': [`p(99)<${P99_MS}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
};

const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream' };
if (__ENV.API_KEY) headers.Authorization = `Bearer ${__ENV.API_KEY}`;

const body = JSON.stringify({
  model: MODEL,
  stream: true,
  messages: [{ role: 'user', content: 'Count for the load test.' }],
});

// Parses an SSE body: { events: number of data events, done: saw [DONE] last, text, ok }.
function parseSse(raw) {
  const out = { events: 0, done: false, text: '', ok: true };
  if (typeof raw !== 'string') return { ...out, ok: false };
  for (const line of raw.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (out.done) out.ok = false; // nothing may follow [DONE]
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    out.events += 1;
    try {
      const chunk = JSON.parse(data);
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && typeof choice.delta.content === 'string') out.text += choice.delta.content;
    } catch (_) {
      out.ok = false;
    }
  }
  return out;
}

export default function () {
  const res = http.post(`${BASE_URL}/v1/chat/completions`, body, { headers, tags: { name: 'chat_stream' } });
  const sse = parseSse(res.body);
  if (res.status === 200) sseEvents.add(sse.events);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'content-type is text/event-stream': (r) => (r.headers['Content-Type'] || '').startsWith('text/event-stream'),
    'every data line parses': () => sse.ok,
    'ends with data: [DONE]': () => sse.done,
    'deltas join to the expected text': () => (EXPECTED === null ? sse.text.length > 0 : sse.text.trim() === EXPECTED),
  });
}
