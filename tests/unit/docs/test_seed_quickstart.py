"""The seed README's quick start, run verbatim with api_base pointed at the fake server."""

from __future__ import annotations

import textwrap

from vv_llm.testing import Reply

LOAD = textwrap.dedent(
    """
    from vv_llm.settings import settings

    settings.load({
        "VERSION": "2",
        "endpoints": [
            {
                "id": "openai-default",
                "api_base": "https://api.openai.com/v1",
                "api_key": "sk-...",
            }
        ],
        "backends": {
            "openai": {
                "models": {
                    "gpt-4o": {
                        "id": "gpt-4o",
                        "endpoints": ["openai-default"],
                    }
                }
            }
        }
    })
    """
)

SYNC = textwrap.dedent(
    """
    from vv_llm.chat_clients import create_chat_client, BackendType

    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    resp = client.create_completion([
        {"role": "user", "content": "用一句话解释 RAG"}
    ])
    print(resp.content)
    """
)

STREAM = textwrap.dedent(
    """
    for chunk in client.create_stream([
        {"role": "user", "content": "写一首四行诗"}
    ]):
        if chunk.content:
            print(chunk.content, end="")
    """
)

ASYNC = textwrap.dedent(
    """
    import asyncio
    from vv_llm.chat_clients import create_async_chat_client, BackendType

    async def main():
        client = create_async_chat_client(BackendType.OpenAI, model="gpt-4o")
        resp = await client.create_completion([
            {"role": "user", "content": "hello"}
        ])
        print(resp.content)

    asyncio.run(main())
    """
)

UTILITIES = "from vv_llm.chat_clients import format_messages, get_token_counts, get_message_token_counts\n"


def run_seed(code: str, namespace: dict, server) -> None:
    exec(code.replace("https://api.openai.com/v1", server.url("/v1")), namespace)


def test_quick_start_runs_verbatim(fake_llm_server, capsys):
    from vv_llm.settings import settings

    fake_llm_server.enqueue(
        Reply(content="RAG 先检索相关文档，再让模型基于检索结果生成答案。"),
        Reply(content="床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。", chunk_chars=3),
        Reply(content="Hello! How can I help?"),
    )
    namespace: dict = {}
    try:
        run_seed(LOAD, namespace, fake_llm_server)
        run_seed(SYNC, namespace, fake_llm_server)
        run_seed(STREAM, namespace, fake_llm_server)
        print()
        run_seed(ASYNC, namespace, fake_llm_server)
    finally:
        settings.reset()
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "RAG 先检索相关文档，再让模型基于检索结果生成答案。",
        "床前明月光，",
        "疑是地上霜。",
        "举头望明月，",
        "低头思故乡。",
        "Hello! How can I help?",
    ]
    sent = [r.json for r in fake_llm_server.requests]
    assert [r.path for r in fake_llm_server.requests] == ["/v1/chat/completions"] * 3
    assert sent[0]["model"] == "gpt-4o" and sent[0]["messages"] == [{"role": "user", "content": "用一句话解释 RAG"}]
    assert sent[1]["stream"] is True and sent[1]["stream_options"] == {"include_usage": True}
    assert fake_llm_server.requests[0].headers["authorization"] == "Bearer sk-..."


def test_utility_functions_import_as_documented():
    namespace: dict = {}
    exec(UTILITIES, namespace)
    assert callable(namespace["format_messages"])
    assert callable(namespace["get_token_counts"])
    assert callable(namespace["get_message_token_counts"])
