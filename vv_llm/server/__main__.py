"""``vv-llm-token-server`` / ``python -m vv_llm.server``: serve the token server with uvicorn.

Host and port come from the flags, else the settings' ``token_server`` section (``{"host": ...,
"port": ...}``), else 127.0.0.1:8000.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vv_llm.errors import SettingsError
from vv_llm.settings import settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vv-llm-token-server", description="Count tokens over HTTP with vv-llm's tokenizers.")
    parser.add_argument("--host", help=f"interface to listen on (default: settings token_server.host, else {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help=f"port (default: settings token_server.port, else {DEFAULT_PORT})")
    parser.add_argument("--settings", metavar="FILE", help="a JSON or TOML vv-llm settings file (default: $VV_LLM_SETTINGS)")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body accepted, larger ones get 413 (default: settings token_server.max_body_bytes, else 4 MiB)",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvicorn

        from vv_llm.server.app import create_app
    except ModuleNotFoundError as exc:
        print(f"the token server needs {exc.name}: pip install 'vv-llm[server]'", file=sys.stderr)
        return 2

    try:
        if args.settings:
            settings.load_file(args.settings)
        section: dict[str, Any] = settings.model.token_server or {}
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    host = args.host or section.get("host") or DEFAULT_HOST
    port = args.port if args.port is not None else section.get("port") or DEFAULT_PORT
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        print(f"token_server.port must be a port number (got {port!r})", file=sys.stderr)
        return 2
    limit = args.max_body_bytes if args.max_body_bytes is not None else section.get("max_body_bytes")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        print(f"token_server.max_body_bytes must be a positive number of bytes (got {limit!r})", file=sys.stderr)
        return 2
    uvicorn.run(create_app(limit), host=host, port=port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
