"""Remove known secrets from text before it is shown, stored or exported (defence in depth:
the engine never puts keys in errors, but a provider may echo one back)."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"


class Scrubber:
    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
