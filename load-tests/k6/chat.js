// k6 load test: non-streamed OpenAI chat completions through llm-gateway.
//
//   k6 run load-tests/k6/chat.js
//   BASE_URL=http://127.0.0.1:8930 MODEL=echo VUS=32 DURATION=30s k6 run load-tests/k6/chat.js
//   ITERATIONS=20000 k6 run load-tests/k6/chat.js        # count-bounded instead of timed
//
// Env: BASE_URL (default http://127.0.0.1:8930, no trailing /v1), MODEL (default "echo"; with
// the mock upstream "echo" answers the prompt back), VUS (32), DURATION (30s), ITERATIONS
// (unset = timed run), API_KEY (sent as "Authorization: Bearer ..." when set),
// P99_MS (latency threshold, default 250).
// Checks: status 200, a JSON body with choices[0].message.content (for "echo": the prompt).

import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8930').replace(/\/+$/, '');
const MODEL = __ENV.MODEL || 'echo';
const VUS = parseInt(__ENV.VUS || '32', 10);
const P99_MS = parseInt(__ENV.P99_MS || '250', 10);
const PROMPT = 'Say hello to the load test.';

export const options = {
  scenarios: {
    chat: __ENV.ITERATIONS
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

const headers = { 'Content-Type': 'application/json' };
if (__ENV.API_KEY) headers.Authorization = `Bearer ${__ENV.API_KEY}`;

const body = JSON.stringify({
  model: MODEL,
  stream: false,
  messages: [{ role: 'user', content: PROMPT }],
});

function content(res) {
  try {
    const msg = res.json('choices.0.message.content');
    return typeof msg === 'string' ? msg : null;
  } catch (_) {
    return null;
  }
}

export default function () {
  const res = http.post(`${BASE_URL}/v1/chat/completions`, body, { headers, tags: { name: 'chat' } });
  check(res, {
    'status is 200': (r) => r.status === 200,
    'body has choices[0].message.content': (r) => content(r) !== null,
    'echo returns the prompt': (r) => MODEL !== 'echo' || content(r) === PROMPT,
  });
}
