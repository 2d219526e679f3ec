"""Remove known secrets from text before it is shown, stored or exported (defence in depth:
the engine never puts keys in errors, but a provider may echo one back)."""

from __future__ import annotations

from collections.abc import Iterable

from vv_llm.errors import secret_forms

REDACTED = "[redacted]"


class Scrubber:
    def __init__(self, secrets: Iterable[str] = ()):
        # Escaped and URL-encoded forms too: a key with a stray line break is quoted as ``sk-…\\n``.
        forms = {form for s in secrets if s and len(s.strip()) >= 4 for form in secret_forms(s)}
        self.secrets = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.secrets:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text
