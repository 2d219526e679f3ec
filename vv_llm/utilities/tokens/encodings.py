"""tiktoken encodings shipped inside the package (o200k_base, cl100k_base), loaded with no network.

tiktoken's own loader downloads the BPE files on first use, which fails offline. The same files
are shipped gzipped in ``data/``; each is checked against the SHA-256 tiktoken publishes for it
before use, and turned into a :class:`tiktoken.Encoding` with tiktoken's own pattern and special
tokens, so counts equal tiktoken's to the token. Loaded on first use, once per process.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import os
import threading
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from vv_llm.errors import VVLLMError

if TYPE_CHECKING:
    import tiktoken

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    file: str
    sha256: str
    """The hash tiktoken checks its download against (``tiktoken_ext/openai_public.py``)."""
    url: str
    """Where tiktoken downloads the file from (its cache is keyed on this)."""
    pat_str: str
    special_tokens: dict[str, int]


_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PAT = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""

SPECS: dict[str, EncodingSpec] = {
    "o200k_base": EncodingSpec(
        name="o200k_base",
        file="o200k_base.tiktoken.gz",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        url="https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        pat_str=_O200K_PAT,
        special_tokens={ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
    "cl100k_base": EncodingSpec(
        name="cl100k_base",
        file="cl100k_base.tiktoken.gz",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        url="https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        pat_str=_CL100K_PAT,
        special_tokens={ENDOFTEXT: 100257, FIM_PREFIX: 100258, FIM_MIDDLE: 100259, FIM_SUFFIX: 100260, ENDOFPROMPT: 100276},
    ),
}


class TokenizerDataError(VVLLMError, RuntimeError):
    """A shipped tokenizer file is missing or does not match its published hash (reinstall vv-llm)."""


_cache: dict[str, tiktoken.Encoding] = {}
_lock = threading.Lock()


def read_bpe_file(name: str, path: str | os.PathLike[str] | None = None) -> bytes:
    """The uncompressed ``.tiktoken`` file of encoding ``name``, verified against its SHA-256.

    ``path``: a gzipped file to read instead of the shipped one.
    """
    spec = _spec(name)
    where = str(path) if path is not None else f"data/{spec.file}"
    try:
        if path is not None:
            packed = Path(path).read_bytes()
        else:
            packed = resources.files("vv_llm.utilities.tokens").joinpath("data", spec.file).read_bytes()
        data = gzip.decompress(packed)
    except (OSError, EOFError, zlib.error) as exc:
        raise TokenizerDataError(f"cannot read the {name} tokenizer file {where}: {exc}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise TokenizerDataError(
            f"the {name} tokenizer file {where} is corrupt (sha256 {actual}, expected {spec.sha256}); reinstall vv-llm"
        )
    return data


def parse_bpe(data: bytes) -> dict[bytes, int]:
    """``token bytes → rank`` from a ``.tiktoken`` file (one ``base64 rank`` pair a line)."""
    ranks: dict[bytes, int] = {}
    decode = binascii.a2b_base64
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


def get_encoding(name: str) -> tiktoken.Encoding:
    """The shipped encoding ``name`` (``o200k_base`` or ``cl100k_base``), loaded once per process."""
    encoding = _cache.get(name)
    if encoding is not None:
        return encoding
    with _lock:
        encoding = _cache.get(name)
        if encoding is None:
            import tiktoken

            spec = _spec(name)
            encoding = tiktoken.Encoding(
                spec.name,
                pat_str=spec.pat_str,
                mergeable_ranks=parse_bpe(read_bpe_file(name)),
                special_tokens=spec.special_tokens,
            )
            _cache[name] = encoding
    return encoding


def _spec(name: str) -> EncodingSpec:
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown encoding {name!r}; shipped: {', '.join(SPECS)}")
    return spec
