"""Estimated usage for a stream that ended without the provider's usage report (stopped or broken).

The provider still bills what it generated, so the playground counts it with the model's own
tokenizer (``vv_llm.utilities.tokens``) and marks the numbers as estimates.
"""

from __future__ import annotations

import json
from typing import Any


def estimate_usage(
    backend: str, model: str, messages: list[dict[str, Any]], tools: Any, content: str, reasoning: str, tool_calls: list[dict[str, Any]]
) -> dict[str, int] | None:
    """Token counts in ``Usage`` shape, or None when they cannot be counted."""
    try:
        from vv_llm.utilities.tokens import get_message_token_counts, get_token_counts
    except ImportError:
        return None
    arguments = "".join(json.dumps(call.get("function") or {}, ensure_ascii=False) for call in tool_calls)
    try:
        prompt = get_message_token_counts(messages, tools, model, backend)
        thinking = get_token_counts(reasoning, model, backend) if reasoning else 0
        completion = thinking + sum(get_token_counts(text, model, backend) for text in (content, arguments) if text)
    except Exception:  # an unknown model or a tokenizer that cannot load: no estimate rather than a wrong one
        return None
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": 0,
        "cache_creation_tokens": 0,
        "reasoning_tokens": thinking,
    }
