"""The official OpenAI Python SDK pointed at the gateway: a chat and a streamed chat.

Usage: python tests/sdk/openai_sdk.py http://127.0.0.1:8930/v1
Exits non-zero on any mismatch.
"""

import sys

from openai import OpenAI


def main() -> None:
    base_url = sys.argv[1]
    client = OpenAI(base_url=base_url, api_key="unused-without-key-map", max_retries=0)

    resp = client.chat.completions.create(
        model="echo",
        messages=[{"role": "user", "content": "hello from the sdk"}],
    )
    assert resp.choices[0].message.content == "hello from the sdk", resp
    assert resp.usage is not None and resp.usage.completion_tokens > 0, resp.usage
    print("chat ok")

    stream = client.chat.completions.create(
        model="echo",
        messages=[{"role": "user", "content": "streamed words arrive in order"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == "streamed words arrive in order", text
    assert usage is not None and usage.prompt_tokens > 0, usage
    print("stream ok")

    models = client.models.list()
    assert any(m.id == "echo" for m in models.data)
    print("models ok")


if __name__ == "__main__":
    main()
