"""Image tokens as each provider bills them, from the image's real size.

* OpenAI (tile models: GPT-4o, GPT-4.1, GPT-5, o1/o3, …): ``detail: low`` costs the base (85 for
  GPT-4o). Otherwise (``high``; ``auto`` is counted as ``high``) the image is scaled to fit in
  2048×2048, then so its shortest side is at most 768 px, and each 512 px tile costs 170 plus
  the base 85. Model-specific base/tile pairs (GPT-5: 70/140, o1/o3: 75/150, GPT-4o-mini:
  2833/5667) and the patch models (GPT-4.1-mini/nano, o4-mini, GPT-5-mini/nano: 32 px patches,
  at most 1536, times a multiplier) follow OpenAI's published tables.
* Anthropic: ``ceil(width × height / 750)`` after scaling the long edge to at most 1568 px and the
  area to at most 1.2 megapixels (so at most 1600 tokens an image, as Anthropic documents).
* Gemini: 258 tokens when both sides are ≤ 384 px, else 258 per 768×768 tile.

When the size cannot be read (a remote URL, an unreadable file), the largest count the rule can
give is used, so context control errs on the safe side.
"""

from __future__ import annotations

import base64
import binascii
import math
from pathlib import Path

from vv_llm.utilities.media import image_size, is_remote, parse_data_url

Size = tuple[int, int]

_HEADER_B64 = 64 * 1024
"""Base64 characters decoded first: enough for PNG/GIF/WebP headers and most JPEG SOF markers."""
_MAX_FILE = 32 * 1024 * 1024
"""The most of a local JPEG file read to find its size."""

# (model prefix, base tokens, tokens per 512 px tile); longest prefix first.
_TILES: tuple[tuple[str, int, int], ...] = (
    ("gpt-4o-mini", 2833, 5667),
    ("gpt-5-chat", 70, 140),
    ("gpt-5", 70, 140),
    ("o1", 75, 150),
    ("o3", 75, 150),
    ("computer-use", 65, 129),
)
# (model prefix, multiplier) of the patch-based models.
_PATCHES: tuple[tuple[str, float], ...] = (
    ("gpt-4.1-mini", 1.62),
    ("gpt-4.1-nano", 2.46),
    ("gpt-5-mini", 1.62),
    ("gpt-5-nano", 2.46),
    ("o4-mini", 1.72),
)
_PATCH = 32
_PATCH_CAP = 1536


def image_dimensions(url: str) -> Size | None:
    """``(width, height)`` of a data URL or local image file; None for remote URLs or unreadable data."""
    try:
        if url.startswith("data:"):
            _, data = parse_data_url(url)
            return _size_of_base64(data)
        if is_remote(url) or ("://" in url and not url.startswith("file://")):
            return None
        path = Path(url[7:] if url.startswith("file://") else url).expanduser()
        with path.open("rb") as f:
            head = f.read(_HEADER_B64)
            size = _size(head)
            if size is None and head.startswith(b"\xff\xd8"):  # a JPEG's size marker may come after large metadata
                size = _size(head + f.read(_MAX_FILE))
            return size
    except (OSError, ValueError):
        return None


def _size_of_base64(data: str) -> Size | None:
    head = data[: _HEADER_B64 // 4 * 4]
    for chunk in (head, data) if len(data) > len(head) else (data,):
        try:
            size = _size(base64.b64decode(chunk))
        except (binascii.Error, ValueError):
            continue
        if size is not None:
            return size
    return None


def _size(data: bytes) -> Size | None:
    size = image_size(data)
    if size is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = _webp_size(data)
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def _webp_size(data: bytes) -> Size | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        b0, b1, b2, b3 = data[21:25]
        return 1 + (((b1 & 0x3F) << 8) | b0), 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    return None


def _shrink_side(size: Size, target: int, longest: bool) -> Size:
    """Scale ``size`` so its longest (or shortest) side is exactly ``target``; the other side rounds down."""
    width, height = size
    if (width >= height) == longest:
        return target, max(1, height * target // width)
    return max(1, width * target // height), target


# -- OpenAI ------------------------------------------------------------------------------------
def openai_image_tokens(size: Size | None, detail: str | None = None, model: str = "gpt-4o") -> int:
    """Tokens OpenAI bills for one image of ``size`` (None: unknown, the most the rule gives)."""
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, multiplier in _PATCHES:
        if name.startswith(prefix):
            return math.ceil(_patches(size) * multiplier)
    base, tile = 85, 170
    for prefix, tile_base, per_tile in _TILES:
        if name.startswith(prefix):
            base, tile = tile_base, per_tile
            break
    if detail == "low":
        return base
    return base + tile * openai_tiles(size)


def openai_tiles(size: Size | None) -> int:
    """512 px tiles of a ``detail: high`` image: fit in 2048², shortest side to 768 at most."""
    if size is None:
        return 8  # 768×2048, the most tiles a fitted image can cover
    if max(size) > 2048:
        size = _shrink_side(size, 2048, longest=True)
    if min(size) > 768:
        size = _shrink_side(size, 768, longest=False)
    return math.ceil(size[0] / 512) * math.ceil(size[1] / 512)


def _patches(size: Size | None) -> int:
    if size is None:
        return _PATCH_CAP
    width, height = size
    patches = math.ceil(width / _PATCH) * math.ceil(height / _PATCH)
    if patches <= _PATCH_CAP:
        return patches
    # Shrink to the patch budget, then a little more so the width is a whole number of patches.
    shrink = math.sqrt(_PATCH_CAP * _PATCH * _PATCH / (width * height))
    columns = max(1, math.floor(width * shrink / _PATCH))
    rows = -(-height * columns // width)  # ceil(height × columns / width): the height scaled alike
    return min(_PATCH_CAP, columns * rows)


# -- Anthropic ---------------------------------------------------------------------------------
ANTHROPIC_LONG_EDGE = 1568
ANTHROPIC_MAX_PIXELS = 1_200_000
"""About 1600 tokens: 1092×1092 (1590 tokens) is the largest square Anthropic does not resize."""


def anthropic_image_tokens(size: Size | None) -> int:
    """``ceil(w × h / 750)`` after Anthropic's downscaling (None: the largest an image can cost)."""
    if size is None:
        return math.ceil(ANTHROPIC_MAX_PIXELS / 750)
    if max(size) > ANTHROPIC_LONG_EDGE:
        size = _shrink_side(size, ANTHROPIC_LONG_EDGE, longest=True)
    if size[0] * size[1] > ANTHROPIC_MAX_PIXELS:
        factor = math.sqrt(ANTHROPIC_MAX_PIXELS / (size[0] * size[1]))
        size = max(1, math.floor(size[0] * factor)), max(1, math.floor(size[1] * factor))
    return math.ceil(size[0] * size[1] / 750)


# -- Gemini ------------------------------------------------------------------------------------
def gemini_image_tokens(size: Size | None) -> int:
    """258 for a small image (both sides ≤ 384 px), else 258 per 768×768 tile (None: 4 tiles)."""
    if size is None:
        return 4 * 258
    if max(size) <= 384:
        return 258
    return 258 * math.ceil(size[0] / 768) * math.ceil(size[1] / 768)


def image_tokens(family: str, url: str, detail: str | None, model: str) -> int:
    """Tokens of one image part for a provider family (``openai``, ``anthropic``, ``gemini``)."""
    size = image_dimensions(url)
    if family == "anthropic":
        return anthropic_image_tokens(size)
    if family == "gemini":
        return gemini_image_tokens(size)
    return openai_image_tokens(size, detail, model)
