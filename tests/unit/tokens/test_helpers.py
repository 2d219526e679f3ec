"""Shared by the token tests: a network guard at the socket, image builders, a text corpus."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import socket
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CORPUS = {
    "english": "The quick brown fox jumps over the lazy dog. It's 3:45 p.m.; we've shipped 1,234,567 units since 2019!",
    "english_long": (
        "Retrieval-augmented generation (RAG) combines a retriever with a generator: documents relevant to a query are "
        "fetched from an index and placed in the prompt, so the model answers from them rather than from memory alone. "
    )
    * 40,
    "chinese": "检索增强生成（RAG）把检索器和生成模型结合起来：先从索引里找到与问题相关的文档，再把它们放进提示词，让模型据此回答。",
    "chinese_classical": "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。寒来暑往，秋收冬藏。",
    "japanese_korean": "東京は日本の首都です。カタカナとひらがな。서울은 대한민국의 수도입니다.",
    "code": (
        "def fib(n: int) -> int:\n"
        '    """Return the n-th Fibonacci number."""\n'
        "    a, b = 0, 1\n"
        "    for _ in range(n):\n"
        "        a, b = b, a + b\n"
        "    return a\n\n"
        "if __name__ == '__main__':\n"
        "\tprint([fib(i) for i in range(10)])  # [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n"
        "const x = {a: 1, 'b': [2, 3]}; x?.a ?? null;\r\n"
        "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;\n"
    ),
    "emoji": "I ❤️ tokenizers 🤖🧠! Family: 👨‍👩‍👧‍👦, flags: 🇫🇷🇯🇵, skin tones: 👍🏽👋🏿, keycaps: 1️⃣#️⃣ ✨🎉",
    "mixed": "Mixed 中英 text with emoji 😀, numbers 3.14159 and Ελληνικά, русский, العربية, हिन्दी.",
    "whitespace": "  leading\n\n\ntrailing   \t\t\n  \r\n\r\n    indented\u00a0nbsp\u2003emspace   ",
    "specials": "literal special tokens: <|endoftext|> <|endofprompt|> <|fim_prefix|> <|im_start|>",
    "combining": "e\u0301 a\u0300 \u1e9b\u0323 Å Å ﬁ ㍿ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "digits": "0123456789 12345678901234567890 3.000000001 -42 1e10 0xFFEE",
    "empty": "",
}


def _loopback(address: Any) -> bool:
    if isinstance(address, tuple):
        address = address[0]
    if not isinstance(address, str):
        return True  # AF_UNIX paths and the like
    if address in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(name="no_network")
def no_network_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse every connection that is not to loopback, at the socket."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise OSError(f"network disabled in this test (connect to {address!r})")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise OSError(f"network disabled in this test (connect to {address!r})")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


def test_the_guard_refuses_remote_connections_and_allows_loopback(no_network: None) -> None:
    with socket.socket() as s, pytest.raises(OSError, match="network disabled"):
        s.connect(("93.184.215.14", 80))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())


# -- tiktoken's own loader, pointed at an offline cache filled from our shipped files -------------
def fill_tiktoken_cache(directory: Path) -> None:
    """Put the shipped encodings where tiktoken's cache looks: sha1(url) under TIKTOKEN_CACHE_DIR."""
    from vv_llm.utilities.tokens.encodings import SPECS, read_bpe_file

    directory.mkdir(parents=True, exist_ok=True)
    for name, spec in SPECS.items():
        (directory / hashlib.sha1(spec.url.encode()).hexdigest()).write_bytes(read_bpe_file(name))


@pytest.fixture(scope="session", name="tiktoken_reference")
def tiktoken_reference_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``tiktoken.get_encoding`` reading only the offline cache (its download is never reached)."""
    import tiktoken

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    fill_tiktoken_cache(cache)
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        yield tiktoken.get_encoding
    finally:
        if previous is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


# -- images --------------------------------------------------------------------------------------
def png_bytes(width: int, height: int) -> bytes:
    """A PNG header (signature + IHDR) announcing ``width`` × ``height``."""
    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


def png_data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()


def png_base64(width: int, height: int) -> str:
    return base64.b64encode(png_bytes(width, height)).decode()


def jpeg_bytes(width: int, height: int, app_segments: int = 0) -> bytes:
    """A JPEG header whose SOF0 marker announces ``width`` × ``height``, after ``app_segments`` 60 kB APP1 blocks."""
    app1 = (b"\xff\xe1" + struct.pack(">H", 60_002) + b"\x00" * 60_000) * app_segments
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app1 + sof + b"\xff\xd9"


def webp_vp8x_bytes(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
