"""SSE framing and inline <think> splitting, with chunk boundaries anywhere."""

from __future__ import annotations

import pytest

from vv_llm.chat_clients.adapters.sse import SSEParser
from vv_llm.chat_clients.think_tags import ThinkTagSplitter, split_think

STREAM = b'event: message\r\ndata: {"a":1}\r\n\r\n: keep-alive comment\n\ndata: line one\ndata: line two\n\ndata:[DONE]\n\n'
EXPECTED = [("message", '{"a":1}'), (None, "line one\nline two"), (None, "[DONE]")]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_sse_events_survive_any_split(size):
    parser = SSEParser()
    events = []
    for i in range(0, len(STREAM), size):
        events += parser.feed(STREAM[i : i + size])
    events += parser.close()
    assert events == EXPECTED


def test_sse_final_event_without_blank_line_is_flushed_on_close():
    parser = SSEParser()
    assert parser.feed(b"data: tail") == []
    assert parser.close() == [(None, "tail")]


def test_sse_utf8_split_inside_a_character():
    data = "data: 你好\n\n".encode()
    parser = SSEParser()
    events = parser.feed(data[:8]) + parser.feed(data[8:])
    assert events == [(None, "你好")]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_think_tags_split_anywhere(size):
    text = "  <think>step 1 < step 2</think>\n\nThe answer </think> stays."
    splitter = ThinkTagSplitter()
    reasoning, content = "", ""
    for i in range(0, len(text), size):
        r, c = splitter.feed(text[i : i + size])
        reasoning, content = reasoning + r, content + c
    r, c = splitter.flush()
    assert (reasoning + r, content + c) == ("step 1 < step 2", "The answer </think> stays.")
    assert split_think(text) == ("step 1 < step 2", "The answer </think> stays.")


def test_no_think_block_is_plain_content():
    splitter = ThinkTagSplitter()
    assert splitter.feed("<thi") == ("", "")
    assert splitter.feed("s is not a tag") == ("", "<this is not a tag")
    assert split_think("plain") == (None, "plain")


def test_unterminated_think_block_is_reasoning():
    splitter = ThinkTagSplitter()
    assert splitter.feed("<think>still thinking</thi") == ("still thinking", "")
    assert splitter.flush() == ("</thi", "")
