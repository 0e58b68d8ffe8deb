"""The official Anthropic Python SDK against the gateway's /v1/messages, served by an
OpenAI-format provider.

Usage: python tests/sdk/anthropic_sdk.py GATEWAY_ROOT_URL PROVIDER_ID
Checks a message, a streamed message, and a tool-use round trip (JSON and streamed).
"""

import sys

import anthropic

TOOLS = [{
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}]


def main() -> None:
    base_url, provider = sys.argv[1], sys.argv[2]
    client = anthropic.Anthropic(base_url=base_url, api_key="unused", max_retries=0)

    msg = client.messages.create(
        model=f"{provider}/echo",
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello from anthropic"}],
    )
    assert msg.type == "message" and msg.role == "assistant", msg
    assert msg.content[0].type == "text" and msg.content[0].text == "hello from anthropic", msg
    assert msg.stop_reason == "end_turn", msg
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0, msg.usage
    print("message ok")

    with client.messages.stream(
        model=f"{provider}/echo", max_tokens=64, messages=[{"role": "user", "content": "streamed to anthropic"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed to anthropic", text
    assert final.stop_reason == "end_turn", final
    assert final.usage.output_tokens > 0, final.usage
    print("stream ok")

    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    msg = client.messages.create(model=f"{provider}/tool-call", max_tokens=64, tools=TOOLS, messages=messages)
    assert msg.stop_reason == "tool_use", msg
    tool = [b for b in msg.content if b.type == "tool_use"][0]
    assert tool.name == "get_weather" and tool.input == {"location": "Paris"}, tool
    assert tool.id, tool
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "21 C"}]})
    msg = client.messages.create(model=f"{provider}/echo", max_tokens=64, tools=TOOLS, messages=messages)
    assert msg.stop_reason == "end_turn", msg
    print("tool round trip ok")

    with client.messages.stream(
        model=f"{provider}/parallel-tool-calls", max_tokens=64, tools=TOOLS, messages=messages[:1]
    ) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert final.stop_reason == "tool_use", final
    assert sorted(u.input["location"] for u in uses) == ["Paris", "Tokyo"], uses
    assert len({u.id for u in uses}) == 2, uses
    print("streamed parallel tool use ok")


if __name__ == "__main__":
    main()
