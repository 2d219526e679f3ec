"""``CompletionOptions``: every option a call (``create_completion`` / ``create_stream``) takes,
defined once. The clients' signatures use it (``**options: Unpack[CompletionOptions]``), so
editors complete the names and type checkers check them; the client derives its list of option
names from it.

Any other keyword still reaches the provider as is at run time (``seed=7``); to stay type-clean,
pass such provider parameters in ``extra_body``.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class CompletionOptions(TypedDict, total=False):
    """Options of one call; each may also be a client default (``create_chat_client(..., temperature=0.2)``)."""

    temperature: float | None
    max_tokens: int | None
    """Clamped to the model's max output."""
    tools: list[dict[str, Any]] | None
    tool_choice: Any
    response_format: dict[str, Any] | type | None
    """OpenAI's json_schema / json_object dict, or a pydantic model class (→ ``reply.parsed``)."""
    stop: str | list[str] | None
    top_p: float | None
    thinking: bool | dict[str, Any] | None
    """Reasoning on/off, or provider options such as ``{"budget_tokens": 2048}``."""
    reasoning_effort: str | None
    prompt_cache: bool | None
    skip_cutoff: bool | None
    """True: send the messages as given, without context-length control."""
    timeout: float | tuple[float, float] | None
    """Seconds for each connect/read, or a ``(connect, read)`` pair."""
    deadline: float | None
    """Seconds the whole call may take, retries and rate-limit waits included."""
    max_retries: int | None
    extra_body: dict[str, Any] | None
    """Provider parameters sent as is (merged over the client's)."""
    extra_headers: dict[str, str] | None
    unsupported: Literal["warn", "error", "drop"] | None
    """What to do with an option the backend cannot take (default ``"warn"``)."""


OPTION_NAMES: tuple[str, ...] = tuple(CompletionOptions.__annotations__)
"""Every option's name, in the order above."""
