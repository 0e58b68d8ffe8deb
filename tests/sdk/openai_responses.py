"""The official OpenAI Python SDK's Responses API (`client.responses.create`) through the
gateway's bridge to chat, against a provider of any wire format.

Usage: python tests/sdk/openai_responses.py BASE_URL PROVIDER_ID
Checks a response, a streamed response (its events in order, the text and the final
response), a function call and its round trip, and the legacy completions endpoint. Exits
non-zero on a mismatch.
"""

import json
import sys

from openai import OpenAI

TOOLS = [{
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}]


def main() -> None:
    base_url, provider = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)

    resp = client.responses.create(model=f"{provider}/echo", instructions="Be brief.", input="hello responses", max_output_tokens=64)
    assert resp.object == "response", resp
    assert resp.status == "completed", resp
    assert resp.output_text == "hello responses", resp
    assert resp.id.startswith("resp_"), resp.id
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0, resp.usage
    print("response ok")

    kinds, text, final = [], "", None
    stream = client.responses.create(
        model=f"{provider}/echo",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "streamed responses"}]}],
        stream=True,
    )
    for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            final = event.response
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    assert "response.output_item.added" in kinds and "response.output_text.done" in kinds, kinds
    assert text == "streamed responses", text
    assert final.output_text == "streamed responses", final
    assert final.usage is not None and final.usage.output_tokens > 0, final.usage
    print("streamed response ok")

    resp = client.responses.create(model=f"{provider}/tool-call", input="What is the weather in Paris?", tools=TOOLS)
    calls = [item for item in resp.output if item.type == "function_call"]
    assert len(calls) == 1, resp.output
    assert calls[0].name == "get_weather", calls[0]
    assert json.loads(calls[0].arguments) == {"location": "Paris"}, calls[0]
    follow = client.responses.create(
        model=f"{provider}/echo",
        tools=TOOLS,
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name, "arguments": calls[0].arguments},
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": '{"temperature_c": 21}'},
        ],
    )
    assert follow.status == "completed", follow
    print("function call round trip ok")

    args, done = "", None
    for event in client.responses.create(model=f"{provider}/tool-call", input="Weather in Paris?", tools=TOOLS, stream=True):
        if event.type == "response.function_call_arguments.delta":
            args += event.delta
        if event.type == "response.completed":
            done = event.response
    assert json.loads(args) == {"location": "Paris"}, args
    assert done.output[-1].type == "function_call", done.output
    print("streamed function call ok")

    comp = client.completions.create(model=f"{provider}/echo", prompt="legacy prompt", max_tokens=32)
    assert comp.object == "text_completion", comp
    assert comp.choices[0].text == "legacy prompt", comp
    text = "".join(c.choices[0].text for c in client.completions.create(model=f"{provider}/echo", prompt="legacy stream", max_tokens=32, stream=True) if c.choices)
    assert text == "legacy stream", text
    print("completions ok")


if __name__ == "__main__":
    main()
