"""Context control: the oldest turns go first; system prompts, the latest user turn and tool pairs stay intact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vv_llm.errors import ContextLengthExceededError, InvalidRequestError
from vv_llm.utilities.context import ContextTooLongError, fit_messages
from vv_llm.utilities.tokens import count_message_tokens

ROOT = Path(__file__).resolve().parents[3]
FILLER = "lorem ipsum dolor sit amet " * 20  # 101 o200k tokens


def conversation(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are terse."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i}: {FILLER}"})
        messages.append({"role": "assistant", "content": f"answer {i}: {FILLER}"})
    messages.append({"role": "user", "content": "and finally?"})
    return messages


def tokens(messages: list[dict[str, Any]], model: str = "gpt-4o") -> int:
    return count_message_tokens(messages, model=model).total


def test_everything_fits_nothing_changes() -> None:
    messages = conversation(3)
    kept, dropped = fit_messages(messages, "gpt-4o", context_length=10_000, max_tokens=1000)
    assert kept is messages and dropped == []


def test_oldest_turns_go_first_and_the_result_fits() -> None:
    messages = conversation(6)
    limit = tokens(messages) - 300  # three turns' worth too many, with max_tokens 100
    kept, dropped = fit_messages(messages, "gpt-4o", context_length=limit, max_tokens=100)
    assert kept[0] == messages[0]  # the system prompt
    assert kept[-1] == messages[-1]  # the latest user turn
    assert dropped == messages[1 : 1 + len(dropped)]  # a prefix of the history, oldest first
    assert len(dropped) % 2 == 0 and dropped  # whole turns: user + assistant
    assert kept == [messages[0], *messages[1 + len(dropped) :]]
    assert tokens(kept) + 100 <= limit
    assert tokens([messages[0], *messages[1 + len(dropped) - 2 :]]) + 100 > limit  # no more than needed


def test_several_system_prompts_are_all_kept() -> None:
    messages = conversation(4)
    messages.insert(5, {"role": "system", "content": "Mid-conversation instruction."})
    messages.insert(1, {"role": "developer", "content": "Developer note."})
    kept, dropped = fit_messages(messages, "gpt-4o", context_length=tokens(messages) - 200)
    assert dropped
    assert [m for m in kept if m["role"] in ("system", "developer")] == [m for m in messages if m["role"] in ("system", "developer")]
    assert not any(m["role"] in ("system", "developer") for m in dropped)
    assert [m for m in messages if m in kept] == kept  # order kept


def test_a_tool_call_leaves_with_its_results() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"q": FILLER})}}
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "look it up"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": FILLER * 3},
        {"role": "assistant", "content": "found it"},
        {"role": "user", "content": "thanks; now this"},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "call_2"}]},
        {"role": "tool", "tool_call_id": "call_2", "content": FILLER},
    ]
    # The latest user turn includes its tool call and result; only the first turn can go.
    kept, dropped = fit_messages(messages, "gpt-4o", context_length=tokens(messages) - 50)
    assert dropped == messages[1:5]
    assert kept == [messages[0], *messages[5:]]
    ids = {c["id"] for m in kept for c in m.get("tool_calls") or ()}
    assert all(m["tool_call_id"] in ids for m in kept if m["role"] == "tool")


def test_history_before_the_first_user_message_is_one_turn() -> None:
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "assistant", "content": FILLER},
        {"role": "user", "content": FILLER},
        {"role": "assistant", "content": FILLER},
        {"role": "user", "content": "now"},
    ]
    kept, dropped = fit_messages(messages, "gpt-4o", context_length=tokens(messages) - 50)
    assert dropped == [messages[1]]
    assert kept == [messages[0], *messages[2:]]


def test_a_single_oversized_message_is_a_clear_error() -> None:
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "old"}, {"role": "user", "content": FILLER * 20}]
    with pytest.raises(ContextTooLongError) as caught:
        fit_messages(messages, "gpt-4o", context_length=1000, max_tokens=200)
    error = caught.value
    assert isinstance(error, InvalidRequestError) and isinstance(error, ContextLengthExceededError)
    assert error.context_length == 1000 and error.max_tokens == 200 and error.largest_message == 2
    assert error.prompt_tokens > 1800
    text = str(error)
    assert "'gpt-4o'" in text and "1,000 tokens" in text and "messages[2]" in text and "skip_cutoff=True" in text


def test_context_length_comes_from_settings_without_any_endpoint() -> None:
    messages = [{"role": "user", "content": FILLER}] * 200 + [{"role": "user", "content": "last"}]
    kept, dropped = fit_messages(messages, "gpt-3.5-turbo")  # catalogue: 16,385 tokens
    assert dropped and tokens(kept, "gpt-3.5-turbo") <= 16_385
    with pytest.raises(InvalidRequestError, match="pass context_length="):
        fit_messages(messages, "some-unknown-model")
    with pytest.raises(InvalidRequestError, match="context_length must be"):
        fit_messages(messages, "gpt-4o", context_length=0)


def test_estimated_models_fit_by_their_estimate() -> None:
    messages = conversation(6)
    limit = tokens(messages, "claude-sonnet-4-5") - 300
    kept, dropped = fit_messages(messages, "claude-sonnet-4-5", context_length=limit)
    assert dropped and tokens(kept, "claude-sonnet-4-5") <= limit


def test_when_it_obviously_fits_no_tokenizer_is_loaded() -> None:
    code = """
import sys
from vv_llm.utilities.context import fit_messages
messages = [{"role": "system", "content": "s" * 1000}, {"role": "user", "content": "你好" * 5000}]
kept, dropped = fit_messages(messages, "gpt-4o", context_length=128_000, max_tokens=4096)
assert kept is messages and dropped == []
print(sorted(m for m in sys.modules if m.startswith("tiktoken")))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- through the clients --------------------------------------------------------------------------
@pytest.fixture
def small_window(fake_settings: Any, fake_llm_server: Any) -> Any:
    """gpt-4o on the fake server with a 1500-token window and a 200-token output limit."""
    from vv_llm.testing.settings import fake_settings_dict

    data = fake_settings_dict(fake_llm_server)
    data["backends"]["openai"]["models"] = {"gpt-4o": {"context_length": 1500, "max_output_tokens": 200}}
    fake_settings.load(data)
    return fake_settings


def test_clients_drop_old_turns_and_say_which(small_window: Any, fake_llm_server: Any) -> None:
    from vv_llm.chat_clients import BackendType, create_chat_client

    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    messages = conversation(8)
    stream = client.create_stream(messages, max_tokens=10_000)  # clamped to the model's 200
    list(stream)
    sent = fake_llm_server.requests[-1].json["messages"]
    assert stream.trimmed_messages and sent == [m for m in messages if m not in stream.trimmed_messages]
    assert sent[0] == messages[0] and sent[-1] == messages[-1]
    assert stream.message.trimmed_messages == stream.trimmed_messages
    assert count_message_tokens(sent, model="gpt-4o").total + 200 <= 1500
    reply = client.create_completion(messages, max_tokens=100)
    assert reply.usage is not None and reply.usage.prompt_tokens + 100 <= 1500
    kept = fake_llm_server.requests[-1].json["messages"]
    assert len(kept) >= len(sent)  # less room reserved: as much or more kept
    assert reply.trimmed_messages and kept == [m for m in messages if m not in reply.trimmed_messages]


def test_skip_cutoff_sends_everything(small_window: Any, fake_llm_server: Any) -> None:
    from vv_llm.chat_clients import BackendType, create_chat_client

    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    messages = conversation(8)
    stream = client.create_stream(messages, skip_cutoff=True)
    list(stream)
    assert stream.trimmed_messages is None and stream.message.trimmed_messages is None
    assert fake_llm_server.requests[-1].json["messages"] == messages
    assert client.create_completion(messages, skip_cutoff=True).trimmed_messages is None


def test_an_oversized_prompt_is_refused_before_sending(small_window: Any, fake_llm_server: Any) -> None:
    from vv_llm.chat_clients import BackendType, create_chat_client

    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    with pytest.raises(ContextTooLongError, match="skip_cutoff"):
        client.create_completion([{"role": "user", "content": FILLER * 30}])
    assert fake_llm_server.requests == []


def test_room_for_the_max_tokens_a_protocol_always_sends(fake_settings: Any, fake_llm_server: Any) -> None:
    """Anthropic requires max_tokens, so a default (the model's output limit here) is sent and must
    fit beside the prompt; OpenAI-compatible calls without max_tokens reserve nothing."""
    from vv_llm.chat_clients import BackendType, create_chat_client
    from vv_llm.testing.settings import fake_settings_dict

    data = fake_settings_dict(fake_llm_server)
    window = {"context_length": 6000, "max_output_tokens": 4000}
    data["backends"]["openai"]["models"] = {"gpt-4o": window}
    data["backends"]["anthropic"]["models"] = {
        "claude-sonnet-4-5": window,
        "tiny-output": {"context_length": 6000, "max_output_tokens": 1000},
    }
    fake_settings.load(data)
    messages = conversation(24)  # ~5,100 tokens: fits 6,000 alone, not with 4,000 (or 1,224) kept for the answer
    openai = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(messages)
    assert openai.trimmed_messages is None
    claude = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5")
    reply = claude.create_completion(messages)
    body = fake_llm_server.requests[-1].json
    assert reply.trimmed_messages and body["max_tokens"] == 4000
    assert reply.usage is not None and reply.usage.prompt_tokens + body["max_tokens"] <= 6000
    thinking = claude.create_completion(messages, max_tokens=200, thinking={"budget_tokens": 1024})
    body = fake_llm_server.requests[-1].json
    assert body["max_tokens"] == 1224  # the thinking budget is on top of the answer, and kept free too
    assert thinking.trimmed_messages and thinking.usage is not None and thinking.usage.prompt_tokens + 1224 <= 6000
    assert len(thinking.trimmed_messages) < len(reply.trimmed_messages)
    sent = len(fake_llm_server.requests)
    with pytest.raises(InvalidRequestError, match="max_output_tokens is 1000"):
        claude.create_completion(messages[-1:], model="tiny-output", max_tokens=200, thinking={"budget_tokens": 1024})
    assert len(fake_llm_server.requests) == sent
