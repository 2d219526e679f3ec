"""``python -m vv_llm.testing``: the fake provider server on its own, to try an endpoint offline.

    python -m vv_llm.testing --port 8000 --key sk-test

serves the demo models (and an echo for any other model name) over the OpenAI Chat Completions
protocol at ``http://127.0.0.1:8000/v1`` — ``GET /v1/models`` lists them — and over Anthropic
Messages at ``http://127.0.0.1:8000``. With ``--key`` only that key is accepted (else 401), so
a wrong key fails as it would at a real provider. Ctrl+C stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from vv_llm.testing.demo import DemoBackend


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m vv_llm.testing",
        description="A fake LLM provider on this machine: the demo models over the real OpenAI and Anthropic wire protocols.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--key", action="append", default=[], help="accept only this API key (repeatable); default: any key")
    parser.add_argument("--pace", type=float, default=1.0, help="scale the demo models' delays (0.2 is five times faster)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backend = DemoBackend(pace=max(0.0, args.pace), host=args.host, port=args.port)
    if args.key:
        backend.server.api_keys = set(args.key)
    try:
        backend.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    base = backend.server.base_url
    names = ", ".join(m.name for m in backend.models)
    print(f"vv-llm fake server listening on {base}", flush=True)
    print(f"  OpenAI-compatible base URL: {base}/v1   (GET {base}/v1/models lists the models)", flush=True)
    print(f"  Anthropic Messages base URL: {base}", flush=True)
    print(f"  models: {names} (any other name gets an echo reply)", flush=True)
    print(f"  API key: {'one of the --key values' if args.key else 'any'}  ·  Ctrl+C to stop", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
