"""The fake server's Bedrock wire format, checked by independent parsers: boto3's bedrock-runtime
client (request serialisation, SigV4, JSON and event-stream parsing) and botocore's event-stream decoder."""

from __future__ import annotations

import base64
import json

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

from vv_llm.testing import Reply, ToolCallSpec

MODEL_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"
USER = [{"role": "user", "content": [{"text": "hi"}]}]
TOOLS = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}


@pytest.fixture
def bedrock(fake_llm_server):
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=fake_llm_server.url(),
        aws_access_key_id="AKIABOTO3TEST",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def test_boto3_converse_against_the_fake(bedrock, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(
            content="Hello",
            reasoning="thinking",
            signature="sig-1",
            tool_calls=[ToolCallSpec("lookup", {"q": "x"}, id="tooluse_1")],
            prompt_tokens=100,
            cached_tokens=60,
            cache_creation_tokens=10,
            completion_tokens=5,
        )
    )
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    response = bedrock.converse(
        modelId=MODEL_ID,
        messages=[{"role": "user", "content": [{"text": "hi"}, {"image": {"format": "png", "source": {"bytes": png}}}]}],
        toolConfig=TOOLS,
        inferenceConfig={"maxTokens": 4096},
        additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": 2048}},
    )
    assert fake_llm_server.last_request.protocol == "bedrock"
    assert response["stopReason"] == "tool_use"
    assert response["output"]["message"]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "thinking", "signature": "sig-1"}}},
        {"text": "Hello"},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "x"}}},
    ]
    assert response["usage"] == {
        "inputTokens": 30,
        "outputTokens": 5,
        "totalTokens": 105,
        "cacheReadInputTokens": 60,
        "cacheWriteInputTokens": 10,
    }
    assert response["ResponseMetadata"]["RequestId"]


def test_boto3_converse_stream_against_the_fake(bedrock, fake_llm_server):
    fake_llm_server.enqueue(
        Reply(content="one two three", reasoning="hmm", tool_calls=[ToolCallSpec("lookup", {"q": "ü"}, id="tooluse_2")], chunk_chars=3)
    )
    response = bedrock.converse_stream(modelId=MODEL_ID, messages=USER, toolConfig=TOOLS)
    events = list(response["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == "one two three"
    reasoning = "".join(
        e["contentBlockDelta"]["delta"]["reasoningContent"].get("text", "")
        for e in events
        if "contentBlockDelta" in e and "reasoningContent" in e["contentBlockDelta"]["delta"]
    )
    assert reasoning == "hmm"
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert starts == [{"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_2", "name": "lookup"}}}]
    arguments = "".join(
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]
    )
    assert json.loads(arguments) == {"q": "ü"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0 and "latencyMs" in events[-1]["metadata"]["metrics"]


def test_boto3_sees_our_errors_as_bedrocks(bedrock, fake_llm_server):
    fake_llm_server.enqueue(Reply.error(429, "Too many requests, please wait before trying again."))
    with pytest.raises(ClientError) as info:
        bedrock.converse(modelId=MODEL_ID, messages=USER)
    error = info.value.response["Error"]
    assert error["Code"] == "ThrottlingException" and "Too many requests" in error["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    fake_llm_server.enqueue(Reply(content="abcdef", chunk_chars=2, stream_error_after_chunks=1, error_message="Service unavailable"))
    stream = bedrock.converse_stream(modelId=MODEL_ID, messages=USER)["stream"]
    with pytest.raises(EventStreamError) as streamed:
        list(stream)
    assert streamed.value.response["Error"]["Code"] == "serviceUnavailableException"


def test_fake_checks_requests_like_bedrock(bedrock, fake_llm_server):
    with pytest.raises(ClientError, match="must start with a user message"):
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    with pytest.raises(ClientError, match="toolConfig field must be defined"):
        bedrock.converse(
            modelId=MODEL_ID,
            messages=[
                {"role": "user", "content": [{"text": "x"}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}]},
            ],
        )
    unsigned = httpx.post(fake_llm_server.url(f"/model/{MODEL_ID}/converse"), json={"messages": USER})
    assert unsigned.status_code == 403 and unsigned.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")


def test_botocore_decodes_our_frames(fake_llm_server):
    """The raw bytes, as sent, through botocore's event-stream parser (CRCs, headers, payloads)."""
    from vv_llm.testing.script import RequestInfo
    from vv_llm.testing.wires.bedrock import BedrockConverseWire

    info = RequestInfo(protocol="bedrock", model=MODEL_ID, stream=True, messages_text="hi", last_user_text="hi", tools=[])
    pieces = b"".join(piece for _, piece in BedrockConverseWire()._stream(Reply(content="héllo wörld", chunk_chars=4), info))
    buffer = EventStreamBuffer()
    buffer.add_data(pieces)
    messages = list(buffer)
    assert [m.headers[":event-type"] for m in messages] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert all(m.headers[":message-type"] == "event" and m.headers[":content-type"] == "application/json" for m in messages)
    assert "".join(json.loads(m.payload)["delta"]["text"] for m in messages[1:4]) == "héllo wörld"
