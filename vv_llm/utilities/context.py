"""Context-length control: fit a conversation into the model's window by dropping its oldest turns.

When the prompt plus ``max_tokens`` would exceed the model's ``context_length``, whole turns are
dropped, oldest first. Without ``max_tokens``, clients keep room for the one their protocol sends
anyway (Anthropic and Bedrock require it: the default, plus any thinking budget). A turn is a user message with everything that follows it up to the next
user message, so an assistant's tool calls always leave together with their tool results.
Never dropped: system (and developer) messages, and the latest user turn. If those alone do not
fit, :class:`ContextTooLongError` says so before anything is sent.

Clients do this on every call to a model with a ``context_length`` (turn it off with
``skip_cutoff=True``); what was dropped is on the reply's ``trimmed_messages``. Counting is
skipped when a cheap bound (UTF-8 bytes: no token is shorter than one byte) already proves that
the request fits, which is the common case. Counts for providers without a local tokenizer are
estimates (see :mod:`vv_llm.utilities.tokens`), so a provider may still refuse a prompt that is
within a few percent of its limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vv_llm.errors import ContextLengthExceededError, InvalidRequestError
from vv_llm.utilities.messages import prepare_messages
from vv_llm.utilities.tokens import tokenizer_info
from vv_llm.utilities.tokens.counters import counter_for
from vv_llm.utilities.tokens.images import image_tokens
from vv_llm.utilities.tokens.messages import RULES, message_tokens, tools_tokens
from vv_llm.utilities.tokens.models import TokenizerInfo, model_setting

if TYPE_CHECKING:
    from vv_llm.settings.store import ResolvedModel
    from vv_llm.types.enums import BackendType

_KEPT_ROLES = ("system", "developer")


class ContextTooLongError(InvalidRequestError, ContextLengthExceededError):
    """The messages that may not be dropped (system prompts, the latest user turn) plus
    ``max_tokens`` already exceed the model's context window. Raised before anything is sent.

    An :class:`~vv_llm.errors.InvalidRequestError` (the request is wrong as given) and a
    :class:`~vv_llm.errors.ContextLengthExceededError`, so one ``except`` catches it together with
    the provider's own refusal.
    """

    def __init__(self, message: str, *, model: str, prompt_tokens: int, max_tokens: int, context_length: int, largest_message: int | None):
        ContextLengthExceededError.__init__(self, message)
        self.model = model
        self.prompt_tokens = prompt_tokens
        """Estimated tokens of what could not be dropped."""
        self.max_tokens = max_tokens
        self.context_length = context_length
        self.largest_message = largest_message
        """Index of the largest message that could not be dropped."""


def fit_context(
    messages: list[dict[str, Any]], resolved: ResolvedModel, max_tokens: int | None, tools: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``(messages to send, messages dropped or None)`` for a call to ``resolved``."""
    limit = resolved.context_length
    if not limit:
        return messages, None

    info = tokenizer_info(resolved.name, resolved.backend)
    kept, dropped = _fit(messages, tools, info, resolved.name, limit, max_tokens or 0)
    return kept, dropped or None


def fit_messages(
    messages: list[dict[str, Any]],
    model: str,
    backend: BackendType | str | None = None,
    *,
    max_tokens: int | None = None,
    tools: Any = None,
    context_length: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(messages that fit, messages dropped)`` for ``model``'s context window, as clients do.

    ``context_length`` defaults to the model's from settings (the catalogue merged with yours);
    ``max_tokens`` is the room kept for the answer. Raises :class:`ContextTooLongError` when the
    system prompts and the latest user turn alone do not fit.
    """
    messages = prepare_messages(messages)
    info = tokenizer_info(model, backend)
    if context_length is None:
        context_length = _context_length(model, backend if backend is not None else info.backend)
    if not isinstance(context_length, int) or isinstance(context_length, bool) or context_length < 1:
        raise InvalidRequestError(f"context_length must be a whole number >= 1 (got {context_length!r})")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0):
        raise InvalidRequestError(f"max_tokens must be a whole number >= 0 (got {max_tokens!r})")
    return _fit(messages, tools, info, model, context_length, max_tokens or 0)


def _context_length(model: str, backend: Any) -> int:
    length = (model_setting(backend, model) or {}).get("context_length") if backend is not None else None
    if not isinstance(length, int) or length < 1:
        raise InvalidRequestError(f"the context length of model {model!r} is not known from settings; pass context_length=")
    return length


def _fit(
    messages: list[dict[str, Any]],
    tools: Any,
    info: TokenizerInfo,
    model: str,
    limit: int,
    reserve: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    budget = limit - reserve
    rules = RULES[info.family]
    if upper_bound(messages, tools, info, model) + rules.reply <= budget:
        return messages, []

    counter = counter_for(info)
    sizes = [message_tokens(m, info, counter, model) for m in messages]
    fixed = tools_tokens(tools, info, counter, model) + rules.reply
    total = fixed + sum(sizes)
    if total <= budget:
        return messages, []
    protected, groups = _turns(messages)
    drop: set[int] = set()
    for group in groups:
        if total <= budget:
            break
        drop.update(group)
        total -= sum(sizes[i] for i in group)
    if total > budget:
        largest = max(protected, key=lambda i: sizes[i]) if protected else None
        where = f"; the largest is messages[{largest}] ({sizes[largest]:,} tokens)" if largest is not None else ""
        room = f", {reserve:,} of them kept for the answer by max_tokens" if reserve else ""
        raise ContextTooLongError(
            f"the prompt does not fit the context of model {model!r} ({limit:,} tokens{room}): the system prompts and "
            f"the latest user turn, which are never dropped, take ~{total:,} tokens{where}. Shorten them"
            + (", lower max_tokens" if reserve else "")
            + " or pass skip_cutoff=True to send the request as it is",
            model=model,
            prompt_tokens=total,
            max_tokens=reserve,
            context_length=limit,
            largest_message=largest,
        )
    kept = [m for i, m in enumerate(messages) if i not in drop]
    return kept, [messages[i] for i in sorted(drop)]


def _turns(messages: list[dict[str, Any]]) -> tuple[list[int], list[list[int]]]:
    """``(indices never dropped, droppable turns oldest first)``."""
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    users = [i for i, role in enumerate(roles) if role == "user"]
    start = users[-1] if users else len(messages) - 1
    while start > 0 and roles[start] == "tool":  # never separate tool results from their call
        start -= 1
    protected = [i for i, role in enumerate(roles) if i >= start or role in _KEPT_ROLES]
    groups: list[list[int]] = []
    for i in range(start):
        if roles[i] in _KEPT_ROLES:
            continue
        if not groups or (roles[i] == "user" and groups[-1]):
            groups.append([])
        groups[-1].append(i)
    return protected, [g for g in groups if g]


def upper_bound(messages: Any, tools: Any, info: TokenizerInfo, model: str) -> int:
    """Tokens the messages and tools cannot exceed, from UTF-8 lengths (no tokenizer needed)."""
    rules = RULES[info.family]
    text_bytes = 0
    pieces = 0
    fixed = 0
    for message in messages:
        fixed += rules.per_message + rules.per_name + rules.per_tool_call * len(message.get("tool_calls") or ())
        for value in _texts(message):
            text_bytes += _utf8_len(value)
            pieces += 1
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "image"):
                    fixed += _image_bound(part, info, model, image_tokens)
    if tools:
        import json

        # Per function ≤ 10, and the counted text is within the JSON; ×2 covers short enum values.
        fixed += rules.tools_base + 10 * len(tools)
        text_bytes += 2 * _utf8_len(json.dumps(tools, ensure_ascii=False, separators=(",", ":"), default=str))
        pieces += 1
    if info.tokenizer == "qwen3.5" or info.tokenizer == "qwen":
        text_bytes *= 3  # Qwen NFC-normalises first, which can grow a text up to three times
    if info.tokenizer == "estimate":
        text_bytes = -(-text_bytes * round(info.scale * 100) // 100) + pieces
    return fixed + text_bytes


def _texts(message: dict[str, Any]) -> list[str]:
    texts = [v for v in (message.get("role"), message.get("name")) if isinstance(v, str)]
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
                if part.get("type") in ("tool_use", "tool_result"):
                    texts.append(str(part.get("input") or part.get("content") or ""))
                    texts.append(str(part.get("name") or ""))
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            texts.append(str(function.get("name") or ""))
            texts.append(str(function.get("arguments") or ""))
    return texts


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _image_bound(part: dict[str, Any], info: TokenizerInfo, model: str, image_tokens: Any) -> int:
    url: Any
    if part.get("type") == "image":
        source = part.get("source") or {}
        url = f"data:image/png;base64,{source.get('data') or ''}" if source.get("type") == "base64" else str(source.get("url") or "")
        detail = None
    else:
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        detail = image.get("detail") if isinstance(image, dict) else None
    return int(image_tokens(info.family, url if isinstance(url, str) else "", detail, model))
