"""The OpenAI Python SDK against a rate-limited key: the first call passes and its raw
response carries the x-ratelimit-* headers; the second raises openai.RateLimitError (status
429) with the gateway's kind and Retry-After. Retries are off so the refusal is seen as is.

Usage: openai_limits.py BASE_URL KEY   (prints "limits ok")
"""

import sys

import openai

base, key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
messages = [{"role": "user", "content": "hello"}]

raw = client.chat.completions.with_raw_response.create(model="mock/echo", messages=messages)
assert raw.headers["x-ratelimit-limit-requests"] == "1", dict(raw.headers)
assert raw.headers["x-ratelimit-remaining-requests"] == "0", dict(raw.headers)
assert raw.parse().choices[0].message.content == "hello"

try:
    client.chat.completions.create(model="mock/echo", messages=messages)
except openai.RateLimitError as e:
    assert e.status_code == 429
    assert e.response.headers["x-gateway-limit-kind"] == "rpm"
    assert int(e.response.headers["retry-after"]) >= 1
    assert e.body["kind"] == "rpm", e.body
    assert e.body["type"] == "rate_limit_exceeded", e.body
else:
    raise SystemExit("the second call was not refused")
print("limits ok")
