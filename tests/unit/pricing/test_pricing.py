"""Cost of a call from its usage and the model's prices (catalogue merged with settings)."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vv_llm.errors import InvalidRequestError, SettingsError, UnknownModelError
from vv_llm.pricing import Cost, PriceSource, cost, cost_from_prices, prices_for, pricing_for
from vv_llm.settings import settings
from vv_llm.settings.catalogue import CATALOGUE_PATH
from vv_llm.types.messages import ChatCompletionMessage, Usage

HAND_KEPT = Path(__file__).with_name("data") / "hand_kept_prices.json"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(autouse=True)
def _fresh_settings() -> Any:
    settings.reset()
    yield
    settings.reset()


def test_openai_cost_with_cached_input() -> None:
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
    usage = Usage(prompt_tokens=10_000, completion_tokens=2_000, total_tokens=12_000, cached_tokens=4_000)
    c = cost(usage, "openai", "gpt-4o")
    assert c is not None
    assert c.input == pytest.approx(6_000 * 2.5 / 1e6)  # uncached = prompt − cached
    assert c.cached == pytest.approx(4_000 * 1.25 / 1e6)
    assert c.cache_write == 0
    assert c.output == pytest.approx(2_000 * 10 / 1e6)
    assert c.total == pytest.approx(0.015 + 0.005 + 0.02)


def test_anthropic_cost_with_cache_reads_and_writes() -> None:
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output; prompt_tokens includes both cache counts.
    usage = Usage(prompt_tokens=3_000, completion_tokens=100, cached_tokens=2_500, cache_creation_tokens=400)
    c = cost(usage, "anthropic", "claude-sonnet-4-5")
    assert c == Cost(input=100 * 3 / 1e6, cached=2_500 * 0.3 / 1e6, cache_write=400 * 3.75 / 1e6, output=100 * 15 / 1e6)
    assert c is not None and c.total == pytest.approx((300 + 750 + 1500 + 1500) / 1e6)


def test_reasoning_tokens_are_billed_as_output() -> None:
    usage = Usage(prompt_tokens=1_000, completion_tokens=5_000, reasoning_tokens=4_500)
    c = cost(usage, "openai", "o3")  # $2 input, $8 output
    assert c is not None and c.output == pytest.approx(5_000 * 8 / 1e6) and c.input == pytest.approx(1_000 * 2 / 1e6)


def test_missing_cache_prices_fall_back_to_input() -> None:
    c = cost_from_prices(
        {"prompt_tokens": 1_000, "cached_tokens": 600, "cache_creation_tokens": 100, "completion_tokens": 0}, {"input": 1, "output": 2}
    )
    assert c is not None and (c.input, c.cached, c.cache_write) == pytest.approx((300 / 1e6, 600 / 1e6, 100 / 1e6))


def test_a_reply_a_usage_or_a_dict() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=10)
    reply = ChatCompletionMessage(content="hi", usage=usage)
    assert cost(reply, "openai", "gpt-4o-mini") == cost(usage, "openai", "gpt-4o-mini") == cost(usage.model_dump(), "openai", "gpt-4o-mini")
    assert cost(ChatCompletionMessage(content="no usage"), "openai", "gpt-4o") is None


def test_settings_override_genai_prices_and_the_catalogue_and_no_endpoint_is_needed() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert cost(usage, "openai", "gpt-4o") == Cost(input=2.5, cached=0.0, cache_write=0.0, output=10.0)  # genai-prices
    assert cost(usage, "qwen", "qwen-plus") == Cost(input=0.4, cached=0.0, cache_write=0.0, output=1.2)  # the catalogue
    settings.load(
        {
            "VERSION": "2",
            "backends": {
                "openai": {"models": {"gpt-4o": {"prices": {"input": 0.5, "output": 1.0}}}},
                "qwen": {"models": {"qwen-plus": {"prices": {"input": 0.25, "output": 0.75}}}},
                "local": {"models": {"my-llm": {"context_length": 8192}}},
            },
        }
    )
    overridden = cost(usage, "openai", "gpt-4o")
    assert overridden == Cost(input=0.5, cached=0.0, cache_write=0.0, output=1.0)
    assert overridden is not None and overridden.source == PriceSource("settings", "your settings")
    assert cost(usage, "qwen", "qwen-plus") == Cost(input=0.25, cached=0.0, cache_write=0.0, output=0.75)
    assert cost(usage, "local", "my-llm") is None  # no prices known: no cost rather than a wrong one
    assert prices_for("openai", "gpt-4o") is not None


def test_unknown_models_and_bad_usage_are_typed_errors() -> None:
    with pytest.raises(UnknownModelError, match="no-such-model"):
        cost(Usage(prompt_tokens=1), "openai", "no-such-model")
    with pytest.raises(InvalidRequestError, match=r"usage\.prompt_tokens"):
        cost({"prompt_tokens": -5}, "openai", "gpt-4o")
    with pytest.raises(InvalidRequestError, match=r"prices\.output"):
        cost_from_prices({"prompt_tokens": 1}, {"input": 1})


def test_long_prompts_are_billed_at_their_tier_for_the_whole_call() -> None:
    # gemini-2.5-pro: $1.25 / $0.125 cached / $10 up to 200k prompt tokens; $2.50 / $0.25 / $15 above.
    at_limit = cost(Usage(prompt_tokens=200_000, completion_tokens=1_000, cached_tokens=100_000), "gemini", "gemini-2.5-pro")
    assert at_limit == Cost(input=100_000 * 1.25 / 1e6, cached=100_000 * 0.125 / 1e6, cache_write=0.0, output=1_000 * 10 / 1e6)
    above = cost(Usage(prompt_tokens=200_001, completion_tokens=1_000, cached_tokens=100_000), "gemini", "gemini-2.5-pro")
    assert above == Cost(input=100_001 * 2.5 / 1e6, cached=100_000 * 0.25 / 1e6, cache_write=0.0, output=1_000 * 15 / 1e6)
    # qwen3-max has three: the highest tier the prompt is above wins; a tier without cache prices falls back to its input.
    tiers = {
        "input": 1,
        "output": 2,
        "tiers": [{"above_prompt_tokens": 1_000, "input": 3, "output": 4}, {"above_prompt_tokens": 100, "input": 5, "output": 6}],
    }
    assert cost_from_prices({"prompt_tokens": 50}, tiers) == Cost(input=50 / 1e6, cached=0.0, cache_write=0.0, output=0.0)
    assert cost_from_prices({"prompt_tokens": 500, "cached_tokens": 100}, tiers) == Cost(
        input=400 * 5 / 1e6, cached=100 * 5 / 1e6, cache_write=0.0, output=0.0
    )
    assert cost_from_prices({"prompt_tokens": 5_000, "completion_tokens": 1}, tiers) == Cost(
        input=5_000 * 3 / 1e6, cached=0.0, cache_write=0.0, output=4 / 1e6
    )
    qwen = cost(Usage(prompt_tokens=150_000, completion_tokens=10_000), "qwen", "qwen3-max")
    assert qwen is not None and qwen.total == pytest.approx((150_000 * 3 + 10_000 * 15) / 1e6)


def test_tiers_in_settings_are_validated_and_replace_the_catalogue_prices() -> None:
    with pytest.raises(SettingsError, match=r"backends\.gemini\.models\.gemini-2\.5-pro\.prices\.tiers\[0\]\.output: required"):
        settings.load(
            {
                "VERSION": "2",
                "backends": {
                    "gemini": {
                        "models": {
                            "gemini-2.5-pro": {"prices": {"input": 1, "output": 2, "tiers": [{"above_prompt_tokens": 10, "input": 3}]}}
                        }
                    }
                },
            }
        )
    with pytest.raises(SettingsError, match="share above_prompt_tokens"):
        settings.load(
            {
                "VERSION": "2",
                "backends": {
                    "gemini": {
                        "models": {
                            "gemini-2.5-pro": {
                                "prices": {
                                    "input": 1,
                                    "output": 2,
                                    "tiers": [
                                        {"above_prompt_tokens": 10, "input": 3, "output": 4},
                                        {"above_prompt_tokens": 10, "input": 5, "output": 6},
                                    ],
                                }
                            }
                        }
                    }
                },
            }
        )
    settings.load({"VERSION": "2", "backends": {"gemini": {"models": {"gemini-2.5-pro": {"prices": {"input": 1, "output": 2}}}}}})
    # Your prices replace the catalogue's whole, tiers included.
    assert cost(Usage(prompt_tokens=1_000_000), "gemini", "gemini-2.5-pro") == Cost(input=1.0, cached=0.0, cache_write=0.0, output=0.0)
    with pytest.raises(InvalidRequestError, match=r"prices\.tiers\[0\]\.output is required"):
        cost_from_prices({"prompt_tokens": 20}, {"input": 1, "output": 2, "tiers": [{"above_prompt_tokens": 10, "input": 3}]})


def test_costs_add_up() -> None:
    a = Cost(input=1.0, cached=0.5, cache_write=0.25, output=2.0)
    assert (a + a).total == pytest.approx(7.5)


def test_every_catalogue_model_is_priced_and_says_where_the_prices_came_from() -> None:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    checked = datetime.date.fromisoformat(data["checked"])
    assert checked <= datetime.date.today()
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_tokens=500_000)
    kinds = set()
    for backend, entry in data["backends"].items():
        for model, setting in entry["models"].items():
            pricing = pricing_for(backend, model)
            assert pricing is not None, (backend, model)
            kinds.add(pricing.source.kind)
            if "prices" in setting:  # kept by hand only where genai-prices lacks the model, with its source
                assert pricing.source.kind == "catalogue", (backend, model)
                origin = setting["price_source"]
                assert origin["url"].startswith("https://") and datetime.date.fromisoformat(origin["checked"]) <= datetime.date.today()
                assert pricing.source.url == origin["url"] and origin["checked"] in pricing.source.label
                prices = setting["prices"]
                assert prices["input"] >= 0 and prices["output"] >= 0, (backend, model)
                if prices.get("cached_input") is not None:
                    assert prices["cached_input"] <= prices["input"], (backend, model)
            else:
                assert pricing.source.kind == "genai-prices" and pricing.source.label.startswith("genai-prices 0."), (backend, model)
                assert pricing.source.url and pricing.source.url.startswith("https://"), (backend, model)
            c = cost(usage, backend, model)
            assert c is not None and c.total >= 0 and c.source == pricing.source
    assert kinds == {"genai-prices", "catalogue"}


def test_genai_prices_bring_long_context_tiers_and_cache_writes() -> None:
    # claude-sonnet-4-5 above 200k prompt tokens: $6 input, $0.60 cache read, $7.50 cache write, $22.50 output (genai-prices).
    long = cost(
        Usage(prompt_tokens=300_000, completion_tokens=1_000, cached_tokens=100_000, cache_creation_tokens=50_000),
        "anthropic",
        "claude-sonnet-4-5",
    )
    assert long == Cost(input=150_000 * 6 / 1e6, cached=100_000 * 0.6 / 1e6, cache_write=50_000 * 7.5 / 1e6, output=1_000 * 22.5 / 1e6)
    assert long is not None and long.source is not None and long.source.kind == "genai-prices"
    assert long.source.url == "https://www.anthropic.com/pricing#api"


def test_pricing_never_reaches_the_network() -> None:
    """genai-prices can fetch fresh prices (its UpdatePrices); we only read its bundled snapshot."""
    code = """
import json, socket, threading
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("no network in this test")
socket.socket.connect = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
from vv_llm.pricing import cost, pricing_for
from vv_llm.settings.catalogue import catalogue
from vv_llm.types.messages import Usage
usage = Usage(prompt_tokens=1000, completion_tokens=100)
kinds = [pricing_for(b, m).source.kind for b, e in catalogue()["backends"].items() for m in e["models"]]
costs = [cost(usage, b, m).total for b, e in catalogue()["backends"].items() for m in e["models"]]
print(json.dumps({"attempts": attempts, "genai": kinds.count("genai-prices"), "threads": [t.name for t in threading.enumerate()]}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["attempts"] == [] and out["genai"] > 40 and out["threads"] == ["MainThread"]


def test_list_where_genai_prices_and_our_hand_kept_prices_disagree(capsys: pytest.CaptureFixture[str]) -> None:
    """Lists — does not fail on — the models whose hand-kept prices (tests/unit/pricing/data) differ from genai-prices'."""
    kept = json.loads(HAND_KEPT.read_text(encoding="utf-8"))
    rows = []
    for backend, models in kept["backends"].items():
        for model, ours in models.items():
            pricing = pricing_for(backend, model)
            assert pricing is not None and pricing.source.kind == "genai-prices", (backend, model)
            theirs = pricing.prices.model_dump(exclude_none=True, exclude={"tiers"})
            differs = {
                k: (ours.get(k), theirs.get(k))
                for k in ("input", "cached_input", "cache_write", "output")
                if ours.get(k) is not None and ours.get(k) != theirs.get(k)
            }
            if differs:
                rows.append(f"| {backend}/{model} | " + ", ".join(f"{k} {a} → {b}" for k, (a, b) in differs.items()) + " |")
    report = "\n".join(
        [
            f"genai-prices and the prices we kept by hand (checked {kept['checked']}) disagree on {len(rows)} of {sum(map(len, kept['backends'].values()))} models (ours → genai-prices, USD per 1M tokens):",
            "| model | differences |",
            "|---|---|",
            *rows,
        ]
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "price-disagreements.md").write_text(report + "\n", encoding="utf-8")
    with capsys.disabled():
        print("\n" + report)
