"""Prompt tokens of a whole request: messages, their overheads, images and tool definitions.

Messages may be in the OpenAI shape (``content`` a string or parts ``text`` / ``image_url``,
assistant ``tool_calls``, ``tool`` results) or the Anthropic shape (parts ``text`` / ``image`` /
``tool_use`` / ``tool_result``, or a ``{"system": ..., "messages": [...]}`` dict as
``format_messages(..., BackendType.Anthropic)`` returns). Tools may be OpenAI
(``{"type": "function", "function": {...}}``) or Anthropic (``{"name", "input_schema"}``) shaped.

How each provider bills a request, and the error to expect against its reported
``prompt_tokens``:

* **OpenAI** (o200k_base / cl100k_base, exact tokenizer): every message costs 3 tokens plus its
  role and content, a ``name`` 1 more, and the reply is primed with 3 — exact for text
  conversations. Tool definitions follow OpenAI's published estimate (per function 7, or 10 on
  cl100k models, plus ``name:description``; 3 for the parameters, then per property 3 plus
  ``name:type:description``, enum values 3 each minus 3; 12 once; nested objects counted the same
  way): within a few tokens. Assistant tool calls: 3 per call plus name and arguments (±3 a
  call). Images: the tile formula (see ``images.py``), exact for known sizes.
* **Other OpenAI-compatible APIs** (DeepSeek, Qwen with their exact tokenizers; the rest
  estimated): the same message overheads, which their chat templates approximate within ~2
  tokens a message; tool definitions are counted as their JSON text plus 12 (chat templates embed
  the JSON schema), ±15 %.
* **Anthropic** (estimated text): 3 per message (system included) and no reply priming; images
  ``w × h / 750``; tools the 346-token tool-use system prompt plus their JSON; ±20 % overall.
* **Gemini** (estimated text): no per-message overhead; images 258 per tile; tools their JSON;
  ±15 % overall.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vv_llm.errors import InvalidRequestError
from vv_llm.utilities.tokens.counters import PiecedText, pieces_counter_for
from vv_llm.utilities.tokens.images import image_tokens
from vv_llm.utilities.tokens.models import TokenizerInfo


@dataclass(frozen=True)
class Rules:
    per_message: int
    per_name: int
    reply: int
    role: bool
    """Whether the role's own tokens count (OpenAI renders it as text)."""
    tools_base: int
    """Added once when tools are given."""
    per_tool_call: int = 3


RULES = {
    "openai": Rules(per_message=3, per_name=1, reply=3, role=True, tools_base=12),
    "anthropic": Rules(per_message=3, per_name=0, reply=0, role=False, tools_base=346),
    "gemini": Rules(per_message=0, per_name=0, reply=0, role=False, tools_base=0),
}


@dataclass(frozen=True)
class MessageTokenCount:
    """A request's prompt tokens, itemised."""

    total: int
    messages: tuple[int, ...]
    """Each message's tokens, its overhead included (a leading Anthropic ``system`` is one)."""
    tools: int
    reply: int
    images: int
    """Tokens of the images (included in ``messages``)."""
    tokenizer: TokenizerInfo


class _Counter:
    """Counts one request, accumulating image tokens."""

    def __init__(self, info: TokenizerInfo, text: Callable[[str], int], model: str):
        self.info = info
        self.text = text
        self.model = model
        self.rules = RULES[info.family]
        self.images = 0

    # -- messages --------------------------------------------------------------------------
    def message(self, message: Any, where: str) -> int:
        if not isinstance(message, dict):
            raise InvalidRequestError(f"{where} must be a dict with 'role' and 'content', got {type(message).__name__}")
        rules = self.rules
        count = rules.per_message
        role = message.get("role")
        if rules.role and isinstance(role, str):
            count += self.text(role)
        name = message.get("name")
        if isinstance(name, str) and name:
            count += self.text(name) + rules.per_name
        count += self.content(message.get("content"), f"{where}.content")
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict):
                function = call.get("function") or {}
                count += self.tool_call(function.get("name"), function.get("arguments"))
        return count

    def content(self, content: Any, where: str) -> int:
        if content is None:
            return 0
        if isinstance(content, str):
            return self.text(content)
        if isinstance(content, dict):  # a single part
            return self.part(content, where)
        if isinstance(content, PiecedText):
            return self.pieced(content)
        if not isinstance(content, list):
            raise InvalidRequestError(f"{where} must be a string or a list of parts, got {type(content).__name__}")
        return sum(self.part(part, f"{where}[{i}]") for i, part in enumerate(content))

    def part(self, part: Any, where: str) -> int:
        if isinstance(part, str):
            return self.text(part)
        if not isinstance(part, dict):
            raise InvalidRequestError(f"{where} must be a dict with a 'type', got {type(part).__name__}")
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            text = part.get("text")
            if isinstance(text, PiecedText):
                return self.pieced(text)
            return self.text(text) if isinstance(text, str) else 0
        if kind in ("image_url", "input_image"):
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            detail = (image.get("detail") if isinstance(image, dict) else None) or part.get("detail")
            return self.image(url if isinstance(url, str) else "", detail)
        if kind == "image":  # Anthropic: {"source": {"type": "base64", "media_type", "data"} | {"type": "url", "url"}}
            source = part.get("source") or {}
            if source.get("type") == "base64":
                url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
            else:
                url = str(source.get("url") or "")
            return self.image(url, None)
        if kind == "tool_use":
            return self.tool_call(part.get("name"), part.get("input"))
        if kind == "tool_result":
            return self.content(part.get("content"), f"{where}.content")
        return 0  # thinking blocks from earlier turns, audio, documents: not counted

    def pieced(self, text: PiecedText) -> int:
        """A long text given in pieces: the same count as :attr:`text` of the joined text."""
        return pieces_counter_for(self.info)(text.pieces())

    def image(self, url: str, detail: str | None) -> int:
        tokens = image_tokens(self.info.family, url, detail, self.model)
        self.images += tokens
        return tokens

    def tool_call(self, name: Any, arguments: Any) -> int:
        if not isinstance(arguments, str):
            arguments = _json(arguments or {})
        return self.rules.per_tool_call + self.text(str(name or "")) + self.text(arguments)

    # -- tool definitions --------------------------------------------------------------------
    def tools(self, tools: Any) -> int:
        if not tools:
            return 0
        if not isinstance(tools, list):
            raise InvalidRequestError(f"tools must be a list of tool definitions, got {type(tools).__name__}")
        functions: list[dict[str, Any]] = []
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise InvalidRequestError(f"tools[{i}] must be a dict, got {type(tool).__name__}")
            function = tool.get("function")
            functions.append(function if isinstance(function, dict) else tool)
        if self.info.family == "openai" and self.info.tokenizer in ("o200k_base", "cl100k_base"):
            per_function = 10 if self.info.tokenizer == "cl100k_base" else 7
            return self.rules.tools_base + sum(self.openai_function(f, per_function) for f in functions)
        schema_key = "input_schema" if self.info.family == "anthropic" else "parameters"
        return self.rules.tools_base + sum(self.text(_json(_as_declared(f, schema_key))) for f in functions)

    def openai_function(self, function: dict[str, Any], per_function: int) -> int:
        description = str(function.get("description") or "").removesuffix(".")
        count = per_function + self.text(f"{function.get('name') or ''}:{description}")
        parameters = function.get("parameters") or function.get("input_schema")
        return count + (self.properties(parameters) if isinstance(parameters, dict) else 0)

    def properties(self, schema: dict[str, Any]) -> int:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return 0
        count = 3
        for key, prop in properties.items():
            count += 3
            if not isinstance(prop, dict):
                count += self.text(f"{key}:any:")
                continue
            kind = prop.get("type", "any")
            kind = "|".join(map(str, kind)) if isinstance(kind, list) else str(kind)
            enum = prop.get("enum")
            if isinstance(enum, list):
                count += -3 + sum(3 + self.text(str(item)) for item in enum)
            description = str(prop.get("description") or "").removesuffix(".")
            count += self.text(f"{key}:{kind}:{description}")
            count += self.properties(prop)
            items = prop.get("items")
            if isinstance(items, dict):
                count += self.properties(items)
        return count


def _as_declared(function: dict[str, Any], schema_key: str) -> dict[str, Any]:
    """A function as the provider receives it, whichever shape it was given in."""
    declared: dict[str, Any] = {"name": function.get("name") or ""}
    if function.get("description"):
        declared["description"] = function["description"]
    schema = function.get("parameters") or function.get("input_schema")
    if schema:
        declared[schema_key] = schema
    return declared


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def count_request(messages: Any, tools: Any, info: TokenizerInfo, text: Callable[[str], int], model: str) -> MessageTokenCount:
    """Itemised prompt tokens of ``messages`` (+ ``tools``) under ``info``'s rules."""
    counter = _Counter(info, text, model)
    per_message = [counter.message(m, where) for m, where in _iter_messages(messages)]
    tool_tokens = counter.tools(tools)
    reply = counter.rules.reply
    return MessageTokenCount(
        total=sum(per_message) + tool_tokens + reply,
        messages=tuple(per_message),
        tools=tool_tokens,
        reply=reply,
        images=counter.images,
        tokenizer=info,
    )


def _iter_messages(messages: Any) -> list[tuple[Any, str]]:
    if isinstance(messages, dict) and isinstance(messages.get("messages"), list):
        # Anthropic request shape: a separate system prompt (a string or text blocks).
        out: list[tuple[Any, str]] = []
        system = messages.get("system")
        if system:
            out.append(({"role": "system", "content": system}, "system"))
        out += [(m, f"messages[{i}]") for i, m in enumerate(messages["messages"])]
        return out
    if not isinstance(messages, list):
        raise InvalidRequestError(f"messages must be a list of {{'role': ..., 'content': ...}} dicts, got {type(messages).__name__}")
    return [(m, f"messages[{i}]") for i, m in enumerate(messages)]


def message_tokens(message: dict[str, Any], info: TokenizerInfo, text: Callable[[str], int], model: str) -> int:
    """One message's tokens, its overhead included (for context control)."""
    return _Counter(info, text, model).message(message, "message")


def tools_tokens(tools: Any, info: TokenizerInfo, text: Callable[[str], int], model: str) -> int:
    return _Counter(info, text, model).tools(tools)
