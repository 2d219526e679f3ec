"""The token server's FastAPI app: count text and message tokens for a model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vv_llm import __version__
from vv_llm.errors import InvalidRequestError
from vv_llm.server.body import LeanBodyRoute, text_in_pieces
from vv_llm.server.json_text import JsonText
from vv_llm.server.limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit, BodyTooLarge
from vv_llm.server.schemas import Health, MessagesRequest, MessagesResponse, ModelName, TextRequest, TextResponse, Tokenizer
from vv_llm.settings import settings
from vv_llm.types.enums import BackendType
from vv_llm.utilities.tokens import count_message_tokens, count_text_pieces, describe_tokenizer, get_token_counts
from vv_llm.utilities.tokens.models import TokenizerInfo

_TOO_DEEP = "the body is nested too deeply to be a token count request"


def configured_limit() -> int:
    """``token_server.max_body_bytes`` from the settings, else the default."""
    value = (settings.model.token_server or {}).get("max_body_bytes")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT_MAX_BODY_BYTES


def _tokenizer(info: TokenizerInfo) -> Tokenizer:
    family: Any = info.family
    return Tokenizer(name=info.tokenizer, family=family, backend=info.backend, exact=info.exact, scale=info.scale)


def create_app(max_body_bytes: int | None = None) -> FastAPI:
    """A new app. Counting uses vv-llm's global settings (``vv_llm.settings.settings``).

    Request bodies over ``max_body_bytes`` (default: settings ``token_server.max_body_bytes``, else
    4 MiB) are refused with 413.
    """
    app = FastAPI(
        title="vv-llm token server",
        version=__version__,
        description="Token counts with each model's own tokenizer (exact for OpenAI, DeepSeek and Qwen models; estimates elsewhere).",
    )
    app.router.route_class = LeanBodyRoute  # bodies parsed with one copy of the text alive at a time

    app.add_middleware(BodySizeLimit, limit=max_body_bytes or configured_limit)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body"], "msg": _TOO_DEEP, "type": "too_deep"}]})

    @app.exception_handler(InvalidRequestError)
    async def invalid_request(request: Request, exc: InvalidRequestError) -> JSONResponse:
        # Same shape as FastAPI's validation errors: a list of {loc, msg, type}.
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body"], "msg": str(exc), "type": "invalid_request"}]})

    @app.exception_handler(StarletteHTTPException)
    async def unreadable_body(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 to a body it cannot decode (not UTF-8); like any other bad payload, that is a 422.
        if isinstance(exc, BodyTooLarge):
            return JSONResponse(status_code=413, content={"detail": exc.detail}, headers={"connection": "close"})
        if exc.status_code == 400 and request.method == "POST":
            if isinstance(exc.__cause__, RecursionError):
                detail = [{"loc": ["body"], "msg": _TOO_DEEP, "type": "too_deep"}]
            else:
                detail = [{"loc": ["body"], "msg": "the body must be UTF-8 JSON", "type": "json_invalid"}]
            return JSONResponse(status_code=422, content={"detail": detail})
        return await http_exception_handler(request, exc)

    @app.get("/health")
    def health() -> Health:
        return Health()

    @app.post("/v1/tokens/text")
    @text_in_pieces(("text",))  # a long text is counted from the body's bytes, never held whole as a str
    def count_text(body: TextRequest) -> TextResponse:
        """Tokens of a text for a model."""
        text: str | JsonText = body.text
        if isinstance(text, JsonText):
            tokens = count_text_pieces(text.pieces(), body.model, body.backend)
        else:
            tokens = get_token_counts(text, body.model, body.backend)
        return TextResponse(model=body.model, tokens=tokens, tokenizer=_tokenizer(describe_tokenizer(body.model, body.backend)))

    @app.post("/v1/tokens/messages")
    @text_in_pieces(("messages", int, "content"), ("messages", int, "content", int, "text"))
    def count_messages(body: MessagesRequest) -> MessagesResponse:
        """Prompt tokens of a chat request (messages, tools, images) as the provider bills it."""
        # warnings=False: a long text left in the body (JsonText) is dumped as it is, not as a str.
        messages = [m.model_dump(exclude_none=True, warnings=False) for m in body.messages]
        tools = [t.model_dump(exclude_none=True) for t in body.tools] if body.tools else None
        count = count_message_tokens(messages, tools, body.model, body.backend)
        return MessagesResponse(
            model=body.model,
            tokens=count.total,
            messages=list(count.messages),
            tools=count.tools,
            reply=count.reply,
            images=count.images,
            tokenizer=_tokenizer(count.tokenizer),
        )

    @app.get("/v1/tokenizer")
    def tokenizer(model: Annotated[ModelName, Query()], backend: Annotated[BackendType | None, Query()] = None) -> Tokenizer:
        """Which tokenizer counts a model, and whether its counts are exact."""
        return _tokenizer(describe_tokenizer(model, backend))

    return app
