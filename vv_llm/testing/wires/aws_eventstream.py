"""AWS's binary event-stream framing (``application/vnd.amazon.eventstream``), as Bedrock's
``/converse-stream`` sends it: each message a prelude (lengths + CRC), string headers, a JSON
payload and a CRC."""

from __future__ import annotations

import secrets
import struct
from binascii import crc32
from typing import Any

from vv_llm.testing.wires._common import compact_json

_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC), string headers, payload, CRC."""
    encoded = b"".join(
        len(name.encode()).to_bytes(1, "big") + name.encode() + b"\x07" + len(value.encode()).to_bytes(2, "big") + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", crc32(message))


def event_frame(event: str, data: dict[str, Any]) -> bytes:
    """An event message, its payload padded as AWS pads it (``"p"``, a random length)."""
    payload = {**data, "p": _PADDING[: 1 + secrets.randbelow(len(_PADDING))]}
    return frame({":event-type": event, ":content-type": "application/json", ":message-type": "event"}, compact_json(payload))


def exception_frame(exception: str, message: str) -> bytes:
    """An exception message: how an error arrives once the stream has begun."""
    headers = {":exception-type": exception, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, compact_json({"message": message}))
