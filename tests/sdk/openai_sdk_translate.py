"""The official OpenAI Python SDK against providers that speak other wire formats.

Usage: python tests/sdk/openai_sdk_translate.py BASE_URL PROVIDER_ID
PROVIDER_ID is a mock provider with api_format "anthropic" or "gemini". Checks a chat, a
streamed chat, and a tool-call round trip (JSON and streamed). Exits non-zero on a mismatch.
"""

import json
import sys

from openai import OpenAI

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}]


def main() -> None:
    base_url, provider = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)

    resp = client.chat.completions.create(
        model=f"{provider}/echo",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello across formats"}],
        max_tokens=64,
    )
    assert resp.choices[0].message.content == "hello across formats", resp
    assert resp.choices[0].finish_reason == "stop", resp
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0, resp.usage
    print("chat ok")

    text, finish, usage, first_role = "", None, None, None
    for chunk in client.chat.completions.create(
        model=f"{provider}/echo",
        messages=[{"role": "user", "content": "streamed across formats"}],
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.choices:
            delta = chunk.choices[0].delta
            if first_role is None:
                first_role = delta.role
            text += delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
    assert first_role == "assistant", first_role
    assert text == "streamed across formats", text
    assert finish == "stop", finish
    assert usage is not None and usage.completion_tokens > 0, usage
    print("stream ok")

    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = client.chat.completions.create(model=f"{provider}/tool-call", messages=messages, tools=TOOLS)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"location": "Paris"}, call
    assert call.id, call
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 21}'})
    resp = client.chat.completions.create(model=f"{provider}/echo", messages=messages, tools=TOOLS)
    assert resp.choices[0].finish_reason == "stop", resp
    print("tool round trip ok")

    calls = {}
    finish = None
    for chunk in client.chat.completions.create(
        model=f"{provider}/parallel-tool-calls", messages=messages[:1], tools=TOOLS, stream=True
    ):
        if not chunk.choices:
            continue
        for tc in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
            if tc.id:
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                entry["args"] += tc.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls", finish
    assert sorted(calls) == [0, 1], calls
    assert all(c["id"] and c["name"] == "get_weather" for c in calls.values()), calls
    cities = sorted(json.loads(c["args"])["location"] for c in calls.values())
    assert cities == ["Paris", "Tokyo"], calls
    assert len({c["id"] for c in calls.values()}) == 2, calls
    print("streamed parallel tool calls ok")


if __name__ == "__main__":
    main()
