"""A long text in a token count request is counted from the body's UTF-8 bytes a piece at a time
(``vv_llm/server/json_text.py``): the pieces are the string ``json.loads`` gives, whatever the
escapes (``\\n``, ``\\"``, ``\\ud83d\\ude00`` surrogate pairs, lone surrogates) and characters (emoji,
combining marks, CJK), the count is the whole text's, and any body this does not fit is answered
exactly as when it is parsed whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vv_llm.server import json_text
from vv_llm.server.app import create_app
from vv_llm.server.json_text import JsonText, parse_with_text
from vv_llm.utilities.tokens import count_message_tokens, count_text_pieces, get_token_counts

ALPHABET = "aZsté中文ひカ\u0301" + "19" + ' \n\t\r"\\/' + ",.!?'()-:" + "，。「」“”" + "🙂😀\U00010348" + "\ud83d\ude00\x00\x1f\u2028"
TEXT = (("text",),)
MESSAGES = (("messages", int, "content"), ("messages", int, "content", int, "text"))
TEXTS = st.text(alphabet=ALPHABET, min_size=20, max_size=200)  # longer than the other strings


def encoded(document: Any, ascii_only: bool) -> bytearray:
    return bytearray(json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@pytest.fixture
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any text counts as long, and is cut every few bytes: every kind of cut is met."""
    monkeypatch.setattr(json_text, "LONG_TEXT_BYTES", 1)
    monkeypatch.setattr(json_text, "PIECE_BYTES", 3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, ascii_only=st.booleans())
def test_the_pieces_are_the_string_json_loads_gives(tiny_pieces: None, text: str, ascii_only: bool) -> None:
    body = encoded({"model": "gpt-4o", "text": text}, ascii_only)
    document = parse_with_text(body, TEXT)
    assert document is not None and document["model"] == "gpt-4o"
    found = document["text"]
    assert isinstance(found, JsonText)
    sent = json.loads(body)["text"]  # an escaped "\ud83d\ude00" pair is one character, 😀
    assert "".join(found.pieces()) == sent
    assert len(found) == len(sent) and str(found) == sent


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, ascii_only=st.booleans(), model=st.sampled_from(["gpt-4o", "gpt-4", "claude-sonnet-4-5", "deepseek-chat", "qwen-plus"]))
def test_the_pieces_count_as_the_whole_text(
    tiny_pieces: None, monkeypatch: pytest.MonkeyPatch, text: str, ascii_only: bool, model: str
) -> None:
    from vv_llm.utilities.tokens import counters

    monkeypatch.setattr(counters, "SEGMENT", 4)  # segments cut at breaks across the pieces' edges
    body = encoded({"text": text, "model": model}, ascii_only)
    document = parse_with_text(body, TEXT)
    assert document is not None
    assert count_text_pieces(document["text"].pieces(), model) == get_token_counts(json.loads(body)["text"], model)


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gpt-4o", "text": "ab\\q"}',  # bad escape
        b'{"model": "gpt-4o", "text": "ab\x01"}',  # raw control character
        b'{"model": "gpt-4o", "text": "\xe6\xa3"}',  # cut UTF-8
        b'{"model": "gpt-4o", "text": "abc"',  # unterminated document
        b'{"model": "gpt-4o", "text": "abc"} x',  # extra data
        b'["gpt-4o", "abc"]',  # not an object
        b'{"model": "gpt-4o", "text": {"t": "abc"}}',  # not a string
        b'{"model": "gpt-4o", "text": "abcdef", "text": "x"}',  # a later key wins
        b'{"abcdef": "gpt-4o", "text": "x"}',  # the long string is a key
        b'{"model": "abcdefgh", "text": "x"}',  # the long string is another field
    ],
)
def test_a_body_it_does_not_fit_is_left_to_json_loads(tiny_pieces: None, body: bytes) -> None:
    assert parse_with_text(bytearray(body), TEXT) is None


def test_a_long_message_text_is_found_where_the_route_says(tiny_pieces: None) -> None:
    text = "a long message 🙂, e\u0301 中文"
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": text}]}
    parts = {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    for document, where in ((plain, ("messages", 1, "content")), (parts, ("messages", 0, "content", 0, "text"))):
        found: Any = parse_with_text(encoded(document, True), MESSAGES)
        assert found is not None
        for step in where:
            found = found[step]
        assert isinstance(found, JsonText) and str(found) == text
    assert parse_with_text(encoded({"model": "m", "messages": [{"role": "user", "name": text}]}, True), MESSAGES) is None
    assert parse_with_text(encoded(plain, True), TEXT) is None


def test_a_short_text_or_another_encoding_is_parsed_whole() -> None:
    assert parse_with_text(bytearray(b'{"model": "gpt-4o", "text": "short"}'), TEXT) is None
    long = "long text 🙂 " * 10_000
    assert parse_with_text(bytearray(json.dumps({"model": "gpt-4o", "text": long}).encode("utf-16")), TEXT) is None
    assert isinstance(parse_with_text(encoded({"model": "gpt-4o", "text": long}, False), TEXT)["text"], JsonText)  # type: ignore[index]


# -- through the server --------------------------------------------------------------------------------
@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


LONG = 'Retrieval 🙂 augmented, naïve café e\u0301.\n检索增强生成，先找到相关文档。"quoted" \\ back/slash \U0001f600 \ud83d lone ' * 3000


@pytest.mark.parametrize("ascii_only", [False, True], ids=["utf-8", "escaped"])
@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5", "qwen-plus"])
def test_a_long_text_counts_as_get_token_counts(client: TestClient, model: str, ascii_only: bool) -> None:
    body = bytes(encoded({"model": model, "text": LONG}, ascii_only))
    assert len(body) > 4 * json_text.LONG_TEXT_BYTES
    response = client.post("/v1/tokens/text", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["tokens"] == get_token_counts(LONG, model)


def test_errors_about_a_long_text_show_it_as_sent(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 422 quotes the input as FastAPI does for any body: the text itself, not a stand-in."""
    from vv_llm.server import schemas

    text = "检索增强生成，先找到相关文档。 🙂 " * 5000
    missing = client.post("/v1/tokens/text", content=bytes(encoded({"text": text}, False)), headers={"content-type": "application/json"})
    assert missing.status_code == 422
    assert missing.json()["detail"] == [{"type": "missing", "loc": ["body", "model"], "msg": "Field required", "input": {"text": text}}]
    monkeypatch.setattr(schemas, "MAX_TEXT_CHARS", len(text) - 1)
    too_long = client.post("/v1/tokens/text", json={"model": "gpt-4o", "text": text})
    assert too_long.status_code == 422
    [error] = too_long.json()["detail"]
    assert error["type"] == "string_too_long" and error["loc"] == ["body", "text"] and error["input"] == text
    monkeypatch.setattr(schemas, "MAX_TEXT_CHARS", len(text))
    assert client.post("/v1/tokens/text", json={"model": "gpt-4o", "text": text}).json()["tokens"] == get_token_counts(text)


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5", "qwen-plus"])
def test_a_long_message_counts_as_count_message_tokens(client: TestClient, model: str) -> None:
    for content in (LONG, [{"type": "text", "text": LONG}]):
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": content}]
        body = json.dumps({"model": model, "messages": messages}, ensure_ascii=False).encode("utf-8", "surrogatepass")
        response = client.post("/v1/tokens/messages", content=body, headers={"content-type": "application/json"})
        expected = count_message_tokens(messages, None, model)
        assert response.status_code == 200, response.text
        assert response.json()["tokens"] == expected.total and response.json()["messages"] == list(expected.messages)


def test_errors_about_a_long_message_show_it_as_sent(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from vv_llm.server import schemas

    text = "检索增强生成，先找到相关文档。 🙂 " * 5000
    bad_role = {"model": "gpt-4o", "messages": [{"role": "robot", "content": text}]}
    response = client.post("/v1/tokens/messages", content=bytes(encoded(bad_role, False)), headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "messages", 0, "role"] and error["input"] == "robot"
    missing = client.post(
        "/v1/tokens/messages",
        content=bytes(encoded({"messages": bad_role["messages"]}, False)),
        headers={"content-type": "application/json"},
    )
    assert {
        "type": "missing",
        "loc": ["body", "model"],
        "msg": "Field required",
        "input": {"messages": bad_role["messages"]},
    } in missing.json()["detail"]
    monkeypatch.setattr(schemas, "MAX_TEXT_CHARS", len(text) - 1)
    for content, last in ((text, "content"), ([{"type": "text", "text": text}], "text")):  # a part: in the union's list branch
        message = {"model": "gpt-4o", "messages": [{"role": "user", "content": content}]}
        too_long = client.post("/v1/tokens/messages", content=bytes(encoded(message, False)), headers={"content-type": "application/json"})
        assert too_long.status_code == 422
        errors = [e for e in too_long.json()["detail"] if e["type"] == "string_too_long"]
        assert errors and errors[0]["loc"][-1] == last and errors[0]["input"] == text, too_long.json()
