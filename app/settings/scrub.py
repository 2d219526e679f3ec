"""Remove known secrets from text before it is shown, stored or exported (defence in depth:
the engine never puts keys in errors, but a provider may echo one back)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vv_llm.errors import secret_forms

REDACTED = "[redacted]"
TAIL_MIN = 8
"""The shortest beginning of a secret redacted at the end of a text (shorter ones are common words)."""


class Scrubber:
    def __init__(self, secrets: Iterable[str] = ()):
        # Escaped and URL-encoded forms too: a key with a stray line break is quoted as ``sk-…\\n``.
        forms = {form for s in secrets if s and len(s.strip()) >= 4 for form in secret_forms(s)}
        self.secrets = sorted(forms, key=len, reverse=True)
        # Each beginning of TAIL_MIN or more characters of a secret (but all of it) starts with the
        # same TAIL_MIN characters: found once here, searched for in a text's end on each render.
        self._heads = [(secret, secret[:TAIL_MIN]) for secret in self.secrets if len(secret) > TAIL_MIN]

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return self._cut_tail(text)

    def _cut_tail(self, text: str) -> str:
        """A text that ends part-way through a secret (a stream cut, or still arriving, mid-key)
        shows that beginning of the key too: redact a tail of ``TAIL_MIN`` or more of its characters."""
        for secret, head in self._heads:
            # Where the text's last len(secret) - 1 characters hold the head, leftmost (the
            # longest beginning) first.
            at = text.find(head, max(0, len(text) - len(secret) + 1))
            while at >= 0:
                if secret.startswith(text[at:]):
                    return text[:at] + REDACTED
                at = text.find(head, at + 1)
        return text


def scrubbed_column(state: Any, scrub: Callable[[str | None], str | None]) -> Any:
    """A column's state (a copy from ``CompareRun.snapshot``) with its text scrubbed in place, for
    the live view: a 200 answer can reflect a key as well as an error can."""
    state.content = scrub(state.content) or ""
    state.reasoning = scrub(state.reasoning) or ""
    state.error_message = scrub(state.error_message)
    for call in state.tool_calls:
        function = call.get("function") or {}
        for name in ("name", "arguments"):
            if isinstance(function.get(name), str):
                function[name] = scrub(function[name]) or ""
    return state


def scrubbed_messages(messages: list[dict[str, Any]], scrub: Callable[[str | None], str | None]) -> list[dict[str, Any]]:
    """Conversation messages with their text scrubbed (copies; the conversation keeps the originals)."""
    import json

    def scrubbed(message: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(json.loads(scrub(json.dumps(message, ensure_ascii=False)) or "{}"))
        except ValueError:  # a replacement cut through an escape: keep only what is safe to show
            return {"role": message.get("role"), "content": "[redacted]"}

    return [scrubbed(m) for m in messages]
