"""Images in messages: local files and data URLs."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from vv_llm.errors import InvalidRequestError

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"RIFF", "image/webp"),
)


def sniff_media_type(data: bytes, fallback: str | None = None) -> str:
    """The image MIME type from the file's first bytes."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            if media_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            return media_type
    if fallback:
        return fallback
    raise ValueError("not a PNG, JPEG, GIF or WebP image")


def file_to_data_url(path: str | Path) -> str:
    """``data:image/png;base64,…`` for a local image file."""
    path = Path(path).expanduser()
    data = path.read_bytes()
    guessed = mimetypes.guess_type(path.name)[0]
    return f"data:{sniff_media_type(data, guessed)};base64,{base64.b64encode(data).decode()}"


def parse_data_url(url: str) -> tuple[str, str]:
    """``(media_type, base64 data)`` of a ``data:`` URL."""
    header, _, data = url.partition(",")
    if not header.startswith("data:") or ";base64" not in header or not data:
        raise ValueError("expected data:<type>;base64,<data>")
    return header[5:].split(";")[0] or "application/octet-stream", data


def image_url_value(image: Any, where: str) -> tuple[str, str] | str:
    """An OpenAI ``image_url`` value: ``(media_type, base64 data)`` for a data URL, else the URL."""
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise InvalidRequestError(f"{where}.image_url.url must be a URL or a data URL")
    if url.startswith("data:"):
        try:
            return parse_data_url(url)
        except ValueError as exc:
            raise InvalidRequestError(f"{where}.image_url: {exc}") from None
    return url


def inline_file(file: Any, where: str, provider: str) -> tuple[str, str]:
    """``(media_type, base64 data)`` of an OpenAI ``file`` part given inline as ``file_data``."""
    data_url = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise InvalidRequestError(f"{where}.file: {provider} needs the file inline as file_data (a data URL); file ids are OpenAI-only")
    try:
        return parse_data_url(data_url)
    except ValueError as exc:
        raise InvalidRequestError(f"{where}.file.file_data: {exc}") from None


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG from its header, without decoding it."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None
