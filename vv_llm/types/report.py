"""``RequestReport``: what a provider actually received for one call.

Every reply (plain, a stream's final message) and every error raised by a call carries one: the
endpoint that answered after failover, the model id sent, and for each option the caller gave
whether it was sent as is, mapped (to what) or dropped (why). Plain dataclasses: one is built for
every call, so they cost next to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OptionStatus = Literal["sent", "mapped", "dropped"]


@dataclass(frozen=True, slots=True)
class OptionReport:
    """What became of one option."""

    status: OptionStatus
    to: str | None = None
    """For ``mapped``: what the provider received instead (a field, or a mechanism)."""
    reason: str | None = None
    """For ``dropped``: why the backend or model cannot take it."""

    def describe(self) -> str:
        if self.status == "mapped":
            return f"mapped to {self.to}"
        if self.status == "dropped":
            return f"dropped ({self.reason})"
        return "sent"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.to is not None:
            data["to"] = self.to
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(slots=True)
class RequestReport:
    """What was sent for one call, as the endpoint that answered (or failed last) received it."""

    backend: str
    model: str
    """The model's name in settings."""
    model_id: str
    """The provider model id (or deployment) sent."""
    endpoint_id: str
    provider: str
    """The protocol spoken: openai, azure, anthropic, gemini, vertex, bedrock, deepseek, ..."""
    failed_over: list[str] = field(default_factory=list)
    """Endpoints tried before this one, in order (they failed with a retryable error)."""
    structured_output: str | None = None
    """How ``response_format`` was carried out: json_schema, json_object, tool or instruction."""
    options: dict[str, OptionReport] = field(default_factory=dict)

    @property
    def dropped(self) -> dict[str, OptionReport]:
        return {name: fate for name, fate in self.options.items() if fate.status == "dropped"}

    @property
    def mapped(self) -> dict[str, OptionReport]:
        return {name: fate for name, fate in self.options.items() if fate.status == "mapped"}

    def summary(self) -> str:
        """One line per fact, for logs and tooltips."""
        lines = [f"endpoint {self.endpoint_id} ({self.provider}), model id {self.model_id}"]
        if self.failed_over:
            lines.append("failed over from " + ", ".join(self.failed_over))
        if self.structured_output:
            lines.append(f"structured output by {self.structured_output}")
        lines.extend(f"{name}: {fate.describe()}" for name, fate in self.options.items())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without empty fields (what the playground stores in history)."""
        data: dict[str, Any] = {
            "backend": self.backend,
            "model": self.model,
            "model_id": self.model_id,
            "endpoint_id": self.endpoint_id,
            "provider": self.provider,
            "failed_over": list(self.failed_over),
        }
        if self.structured_output is not None:
            data["structured_output"] = self.structured_output
        data["options"] = {name: fate.to_dict() for name, fate in self.options.items()}
        return data
