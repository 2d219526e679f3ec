"""Structured output through the fake wires of every protocol: the native fields each provider
documents, ``reply.parsed`` for a pydantic class and a dict schema (plain and streamed, sync and
async), StructuredOutputError with the raw text, the fallbacks (JSON mode, forced tool,
instruction), schema conversion and refusal, and the fake wires refusing what the real APIs refuse."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from vv_llm.chat_clients import BackendType, create_async_chat_client, create_chat_client
from vv_llm.chat_clients.adapters.google_credentials import clear_credentials_cache
from vv_llm.errors import BadRequestError, InvalidRequestError, StructuredOutputError
from vv_llm.settings import settings
from vv_llm.testing import Reply
from vv_llm.testing.settings import FAKE_KEY, fake_settings_dict

USER = [{"role": "user", "content": "Describe Paris"}]
PARIS = '{"name": "Paris", "population": 2100000, "tags": ["capital"]}'


class City(BaseModel):
    name: str
    population: int
    tags: list[str]


CITY_SCHEMA = {
    "type": "object",
    "title": "City",
    "properties": {
        "name": {"title": "Name", "type": "string"},
        "population": {"title": "Population", "type": "integer"},
        "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "population", "tags"],
    "additionalProperties": False,
}
"""City's JSON schema as every provider receives it: pydantic's, closed (OpenAI strict, Anthropic)."""
DICT_FORMAT = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}}

# protocol → (backend, model name, model id sent, endpoint settings (None: the fake_settings one))
ROUTES = {
    "openai": (BackendType.OpenAI, "gpt-4o", "gpt-4o"),
    "azure": (BackendType.OpenAI, "gpt-4o", "my-gpt4o"),
    "anthropic": (BackendType.Anthropic, "claude-sonnet-4-5", "claude-sonnet-4-5"),
    "vertex-claude": (BackendType.Anthropic, "claude-sonnet-4-5", "claude-sonnet-4-5@20250929"),
    "gemini": (BackendType.Gemini, "gemini-2.5-flash", "gemini-2.5-flash"),
    "vertex-gemini": (BackendType.Gemini, "gemini-2.5-flash", "gemini-2.5-flash"),
    "bedrock": (BackendType.Anthropic, "claude-sonnet-4-5", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
}


def endpoint_for(route: str, server, private_key_pem: str) -> dict:
    base = {"id": f"ep-{route}", "api_base": server.url()}
    if route == "openai":
        return {**base, "api_base": server.url("/v1"), "api_key": FAKE_KEY}
    if route == "azure":
        return {**base, "api_key": FAKE_KEY, "is_azure": True, "api_version": "2024-10-21"}
    if route == "anthropic":
        return {**base, "api_key": FAKE_KEY}
    if route == "gemini":
        return {**base, "api_base": server.url("/v1beta"), "api_key": FAKE_KEY}
    if route.startswith("vertex"):
        account = {
            "type": "service_account",
            "project_id": "vv-llm-test",
            "private_key_id": "0123456789abcdef",
            "private_key": private_key_pem,
            "client_email": "vv-llm@vv-llm-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": server.url("/token"),
        }
        return {**base, "is_vertex": True, "region": "us-east5", "credentials": {"service_account_info": account}}
    return {
        **base,
        "is_bedrock": True,
        "region": "us-east-1",
        "credentials": {"access_key_id": "AKIAFAKE0001", "secret_access_key": "x" * 40},
    }


@pytest.fixture
def route_client(fake_llm_server, private_key_pem):
    """``make(route, sync=True, **model_settings)`` → a client for that protocol's fake wire."""
    clear_credentials_cache()

    def make(route: str, sync: bool = True, **model_settings):
        backend, model, model_id = ROUTES[route]
        endpoint = endpoint_for(route, fake_llm_server, private_key_pem)
        model_setting = {"id": model_id, "endpoints": [endpoint["id"]], **model_settings}
        settings.load({"VERSION": "2", "endpoints": [endpoint], "backends": {backend.value: {"models": {model: model_setting}}}})
        factory = create_chat_client if sync else create_async_chat_client
        return factory(backend, model=model)

    yield make
    settings.reset()
    clear_credentials_cache()


def chat_body(server) -> dict:
    """The last chat request's body, as the provider reads it (Bedrock's schema is a JSON string)."""
    request = next(r for r in reversed(server.requests) if r.protocol not in ("google-oauth",))
    return request.json


def native_field(route: str, body: dict):
    if route in ("openai", "azure"):
        return body["response_format"]
    if route in ("anthropic", "vertex-claude"):
        return body["output_config"]
    if route in ("gemini", "vertex-gemini"):
        return body["generationConfig"]
    fmt = body["outputConfig"]["textFormat"]
    return {
        **fmt,
        "structure": {"jsonSchema": {**fmt["structure"]["jsonSchema"], "schema": json.loads(fmt["structure"]["jsonSchema"]["schema"])}},
    }


EXPECTED_NATIVE = {
    "openai": {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True}},
    "azure": {"type": "json_schema", "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True}},
    "anthropic": {"format": {"type": "json_schema", "schema": CITY_SCHEMA}},
    "vertex-claude": {"format": {"type": "json_schema", "schema": CITY_SCHEMA}},
    "gemini": {"responseMimeType": "application/json", "responseJsonSchema": CITY_SCHEMA},
    "vertex-gemini": {"responseMimeType": "application/json", "responseJsonSchema": CITY_SCHEMA},
    "bedrock": {"type": "json_schema", "structure": {"jsonSchema": {"schema": CITY_SCHEMA, "name": "City"}}},
}
TARGETS = {
    "openai": "response_format",
    "azure": "response_format",
    "anthropic": "output_config.format",
    "vertex-claude": "output_config.format",
    "gemini": "generationConfig.responseJsonSchema",
    "vertex-gemini": "generationConfig.responseJsonSchema",
    "bedrock": "outputConfig.textFormat",
}


def consume(stream) -> str:
    return "".join(delta.content or "" for delta in stream)


async def aconsume(stream) -> str:
    return "".join([delta.content or "" async for delta in stream])


# -- native mechanism per protocol -------------------------------------------------------------
@pytest.mark.parametrize("route", list(ROUTES))
def test_pydantic_class_uses_the_native_fields_and_parses(route, route_client, fake_llm_server):
    client = route_client(route)
    fake_llm_server.enqueue(Reply(content=PARIS))
    reply = client.create_completion(USER, response_format=City)
    assert reply.parsed == City(name="Paris", population=2100000, tags=["capital"])
    assert native_field(route, chat_body(fake_llm_server)) == EXPECTED_NATIVE[route]
    report = reply.request_report
    assert report.structured_output == "json_schema" and report.model_id == ROUTES[route][2] and report.endpoint_id == f"ep-{route}"
    assert report.options["response_format"].to == TARGETS[route]


@pytest.mark.parametrize("route", list(ROUTES))
def test_dict_schema_parsed_plain_and_streamed_sync_and_async(route, route_client, fake_llm_server):
    client = route_client(route)
    fake_llm_server.enqueue(Reply(content=PARIS), Reply(content=PARIS, chunk_chars=5))
    assert client.create_completion(USER, response_format=DICT_FORMAT).parsed == json.loads(PARIS)
    stream = client.create_stream(USER, response_format=DICT_FORMAT)
    assert consume(stream) == PARIS  # text deltas arrive as they come
    assert stream.message.parsed == json.loads(PARIS) and stream.message.request_report.structured_output == "json_schema"

    aclient = route_client(route, sync=False)

    async def both():
        fake_llm_server.enqueue(Reply(content=PARIS), Reply(content=PARIS, chunk_chars=7))
        plain = await aclient.create_completion(USER, response_format=City)
        stream = aclient.create_stream(USER, response_format=City)
        text = await aconsume(stream)
        return plain, text, stream.message

    plain, text, message = asyncio.run(both())
    assert plain.parsed == message.parsed == City.model_validate_json(PARIS) and text == PARIS


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_answer_that_does_not_fit_raises_with_the_raw_text(route, route_client, fake_llm_server):
    client = route_client(route)
    fake_llm_server.enqueue(Reply(content='{"name": "Paris"}'), Reply(content="Sorry, no JSON today", chunk_chars=4))
    with pytest.raises(StructuredOutputError) as caught:
        client.create_completion(USER, response_format=City)
    assert caught.value.raw == '{"name": "Paris"}' and ("$.population", "Field required") in caught.value.errors
    assert caught.value.request_report.endpoint_id == f"ep-{route}"
    stream = client.create_stream(USER, response_format=DICT_FORMAT)
    seen = []
    with pytest.raises(StructuredOutputError) as caught:
        for delta in stream:
            seen.append(delta.content or "")
    assert "".join(seen) == caught.value.raw == "Sorry, no JSON today" and "not valid JSON" in str(caught.value)


def test_a_cut_off_answer_says_so(route_client, fake_llm_server):
    fake_llm_server.enqueue(Reply(content='{"name": "Par', finish_reason="length"))
    with pytest.raises(StructuredOutputError, match="max_tokens") as caught:
        route_client("openai").create_completion(USER, response_format=City, max_tokens=5)
    assert caught.value.raw == '{"name": "Par'


# -- fallbacks -----------------------------------------------------------------------------------
def test_deepseek_gets_json_mode_and_the_schema_as_an_instruction(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.DeepSeek, model="deepseek-chat")
    fake_llm_server.enqueue(Reply(content=PARIS))
    reply = client.create_completion(USER, response_format=City)
    body = chat_body(fake_llm_server)
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system" and '"population"' in body["messages"][0]["content"]
    assert reply.parsed.population == 2100000
    assert reply.request_report.options["response_format"].to == "response_format json_object + the schema as an instruction"


def test_json_object_mode_adds_the_word_json_only_when_missing(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.DeepSeek, model="deepseek-chat")
    client.create_completion([{"role": "user", "content": "give me json"}], response_format={"type": "json_object"})
    assert len(chat_body(fake_llm_server)["messages"]) == 1
    reply = client.create_completion(USER, response_format={"type": "json_object"})
    assert chat_body(fake_llm_server)["messages"][0]["content"] == "Respond with a single valid JSON object and nothing else."
    assert isinstance(reply.parsed, dict)


def test_a_model_without_native_output_uses_a_forced_tool_streamed_as_text(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-opus-4-1")  # catalogue: structured_output "tool"
    reply = client.create_completion(USER, response_format=City)
    body = chat_body(fake_llm_server)
    assert "output_config" not in body and body["tool_choice"] == {"type": "tool", "name": "City"}
    assert body["tools"][0]["input_schema"] == CITY_SCHEMA
    assert isinstance(reply.parsed, City) and reply.tool_calls is None and reply.finish_reason == "stop"
    stream = client.create_stream(USER, response_format=City)
    deltas = list(stream)
    assert (
        not any(d.tool_calls for d in deltas) and json.loads("".join(d.content or "" for d in deltas)) == stream.message.parsed.model_dump()
    )
    assert stream.message.request_report.options["response_format"].to == "a forced call of tool 'City'"


def test_a_non_object_schema_travels_wrapped_in_the_tool(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-opus-4-1")
    schema = {"type": "array", "items": {"type": "string"}}
    reply = client.create_completion(USER, response_format={"type": "json_schema", "json_schema": {"name": "names", "schema": schema}})
    assert chat_body(fake_llm_server)["tools"][0]["input_schema"]["properties"] == {"value": schema}
    assert isinstance(reply.parsed, list) and json.loads(reply.content) == reply.parsed


def test_thinking_rules_out_the_forced_tool_so_an_instruction_is_used(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-opus-4-1")
    fake_llm_server.enqueue(Reply(content="```json\n" + PARIS + "\n```"))
    reply = client.create_completion(USER, response_format=City, thinking=True)
    body = chat_body(fake_llm_server)
    assert "tool_choice" not in body and "matches this JSON schema" in body["system"]
    assert reply.parsed.name == "Paris" and reply.request_report.structured_output == "instruction"


def test_older_gemini_models_get_response_schema(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Gemini, model="gemini-2.0-flash")
    reply = client.create_completion(USER, response_format=City)
    config = chat_body(fake_llm_server)["generationConfig"]
    assert "responseJsonSchema" not in config and config["responseSchema"]["properties"]["population"] == {
        "type": "INTEGER",
        "title": "Population",
    }
    assert reply.request_report.options["response_format"].to == "generationConfig.responseSchema" and reply.parsed.name


def test_bedrock_model_without_native_output_uses_a_forced_tool(route_client, fake_llm_server):
    client = route_client("bedrock", structured_output="tool")
    reply = client.create_completion(USER, response_format=City)
    body = chat_body(fake_llm_server)
    assert "outputConfig" not in body and body["toolConfig"]["toolChoice"] == {"tool": {"name": "City"}}
    assert isinstance(reply.parsed, City)


# -- schema conversion and refusal ------------------------------------------------------------------
BOUNDED = {
    "type": "object",
    "properties": {"age": {"type": "integer", "minimum": 0, "maximum": 150}, "code": {"type": "string", "pattern": "^[A-Z]+$"}},
    "required": ["age", "code"],
}


def test_anthropic_moves_unsupported_constraints_to_descriptions_and_they_are_still_checked(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5")
    fake_llm_server.enqueue(Reply(content='{"age": 200, "code": "AB"}'))
    with pytest.raises(StructuredOutputError) as caught:
        client.create_completion(USER, response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": BOUNDED}})
    sent = chat_body(fake_llm_server)["output_config"]["format"]["schema"]
    assert sent["additionalProperties"] is False
    assert sent["properties"]["age"] == {"type": "integer", "description": "{maximum: 150, minimum: 0}"}
    assert caught.value.errors == [("$.age", "200 is greater than the maximum of 150")]


RECURSIVE = {
    "type": "object",
    "properties": {"root": {"$ref": "#/$defs/Node"}},
    "required": ["root"],
    "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}, "required": ["child"]}},
}


@pytest.mark.parametrize("backend,model", [(BackendType.Anthropic, "claude-sonnet-4-5"), (BackendType.Gemini, "gemini-2.5-flash")])
def test_recursive_schemas_are_refused_before_sending_naming_the_path(backend, model, fake_settings, fake_llm_server):
    client = create_chat_client(backend, model=model)
    with pytest.raises(InvalidRequestError, match=r"\$\.properties\.root\.\$ref\.properties\.child"):
        client.create_completion(USER, response_format={"type": "json_schema", "json_schema": {"name": "tree", "schema": RECURSIVE}})
    assert fake_llm_server.requests == []


def test_gemini_takes_optional_recursion_and_converts_const_and_ref_siblings(fake_settings, fake_llm_server):
    schema = {
        "type": "object",
        "properties": {"kind": {"const": "tree"}, "root": {"$ref": "#/$defs/Node", "description": "the top"}},
        "required": ["kind", "root"],
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}, "default": {}}},
    }
    client = create_chat_client(BackendType.Gemini, model="gemini-2.5-flash")
    reply = client.create_completion(USER, response_format={"type": "json_schema", "json_schema": {"name": "tree", "schema": schema}})
    sent = chat_body(fake_llm_server)["generationConfig"]["responseJsonSchema"]
    assert sent["properties"] == {"kind": {"enum": ["tree"]}, "root": {"$ref": "#/$defs/Node"}}
    assert sent["$defs"]["Node"] == {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}
    assert reply.parsed["kind"] == "tree"


# -- the fake wires refuse what the real APIs refuse -------------------------------------------------
def test_anthropic_refuses_structured_output_with_a_prefilled_answer(fake_settings, fake_llm_server):
    client = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5")
    with pytest.raises(BadRequestError, match="Prefilling") as caught:
        client.create_completion([*USER, {"role": "assistant", "content": "{"}], response_format=City)
    assert caught.value.request_report.structured_output == "json_schema"


def test_anthropic_refuses_structured_output_with_citations(fake_settings, fake_llm_server):
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Paris"}, "citations": {"enabled": True}}
    client = create_chat_client(BackendType.Anthropic, model="claude-sonnet-4-5")
    with pytest.raises(BadRequestError, match="Citations"):
        client.create_completion([{"role": "user", "content": [document, {"type": "text", "text": "Describe"}]}], response_format=City)


def test_anthropic_refuses_output_format_on_a_model_without_it(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["backends"]["anthropic"]["models"] = {"claude-opus-4-1": {"structured_output": "json_schema"}}  # a wrong setting
    settings.load(data)
    try:
        with pytest.raises(BadRequestError, match=r"does not support output_config\.format"):
            create_chat_client(BackendType.Anthropic, model="claude-opus-4-1").create_completion(USER, response_format=City)
    finally:
        settings.reset()


def test_deepseek_refuses_json_schema_like_the_real_api(fake_llm_server):
    data = fake_settings_dict(fake_llm_server)
    data["backends"]["deepseek"]["models"] = {"deepseek-chat": {"structured_output": "json_schema"}}
    settings.load(data)
    try:
        with pytest.raises(BadRequestError, match="unavailable"):
            create_chat_client(BackendType.DeepSeek, model="deepseek-chat").create_completion(USER, response_format=City)
    finally:
        settings.reset()


def test_openai_strict_mode_needs_closed_objects(fake_settings, fake_llm_server):
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    client = create_chat_client(BackendType.OpenAI, model="gpt-4o")
    with pytest.raises(BadRequestError, match="additionalProperties"):
        client.create_completion(
            USER, response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": loose, "strict": True}}
        )


def test_a_pydantic_model_with_optional_fields_is_sent_without_strict(fake_settings, fake_llm_server):
    class Pet(BaseModel):
        name: str
        age: int | None = None

    reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, response_format=Pet)
    sent = chat_body(fake_llm_server)["response_format"]["json_schema"]
    assert sent["strict"] is False and "additionalProperties" not in sent["schema"]
    assert isinstance(reply.parsed, Pet)


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"type": "xml"}, "text, json_object or json_schema"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "schema must be a JSON schema"),
        ({"type": "json_schema", "json_schema": {"name": "no spaces", "schema": {}}}, "json_schema.name"),
        (str, "not a pydantic model"),
    ],
)
def test_bad_response_formats_are_refused_before_sending(bad, match, fake_settings, fake_llm_server):
    with pytest.raises(InvalidRequestError, match=match):
        create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, response_format=bad)
    assert fake_llm_server.requests == []


def test_the_readme_example_runs(fake_settings, fake_llm_server):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "response_format=City" in b]
    fake_llm_server.enqueue(Reply(content='{"name": "Paris", "population": 2100000}'))
    scope = {"client": create_chat_client(BackendType.OpenAI, model="gpt-4o")}
    exec(compile(example, "README.md", "exec"), scope)
    assert scope["reply"].parsed.population == 2100000


# -- unsupported options, per protocol ------------------------------------------------------------
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}
# protocol → (options one of them cannot take, that option, the field it must not reach)
DROPPABLE = {
    "openai": ({"thinking": True}, "thinking", "thinking"),
    "azure": ({"thinking": True}, "thinking", "thinking"),
    "anthropic": ({"thinking": True, "temperature": 0.5}, "temperature", "temperature"),
    "vertex-claude": ({"thinking": True, "temperature": 0.5}, "temperature", "temperature"),
    "gemini": ({"tools": [TOOL], "parallel_tool_calls": False}, "parallel_tool_calls", "parallel_tool_calls"),
    "vertex-gemini": ({"tools": [TOOL], "parallel_tool_calls": False}, "parallel_tool_calls", "parallel_tool_calls"),
    "bedrock": ({"tools": [TOOL], "parallel_tool_calls": False}, "parallel_tool_calls", "parallel_tool_calls"),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_each_protocol_reports_and_honours_unsupported(route, route_client, fake_llm_server):
    from vv_llm.errors import UnsupportedOptionError, UnsupportedOptionWarning

    options, dropped, field = DROPPABLE[route]
    client = route_client(route)
    with pytest.warns(UnsupportedOptionWarning, match=dropped):
        reply = client.create_completion(USER, **options)
    assert reply.request_report.options[dropped].status == "dropped" and field not in json.dumps(chat_body(fake_llm_server))
    sent = len(fake_llm_server.requests)
    with pytest.raises(UnsupportedOptionError) as caught:
        client.create_completion(USER, unsupported="error", **options)
    assert list(caught.value.options) == [dropped] and len(fake_llm_server.requests) == sent
    stream = client.create_stream(USER, unsupported="drop", **options)
    consume(stream)
    assert stream.message.request_report.options[dropped].status == "dropped"


def test_an_old_azure_api_version_gets_json_mode(route_client, fake_llm_server):
    from vv_llm.settings import settings as global_settings

    route_client("azure")
    data = global_settings.model.model_dump(mode="json")
    data["endpoints"][0]["api_version"] = "2024-02-01"
    data["endpoints"][0]["api_key"] = FAKE_KEY
    global_settings.load(data)
    fake_llm_server.enqueue(Reply(content=PARIS))
    reply = create_chat_client(BackendType.OpenAI, model="gpt-4o").create_completion(USER, response_format=City)
    assert chat_body(fake_llm_server)["response_format"] == {"type": "json_object"} and reply.parsed.name == "Paris"
    assert reply.request_report.structured_output == "json_object"


def test_the_catalogue_records_a_mechanism_for_every_backend_and_model():
    from vv_llm.chat_clients.structured import MECHANISMS, capability
    from vv_llm.settings.catalogue import catalogue
    from vv_llm.settings.schema import ModelSetting

    for name, entry in catalogue()["backends"].items():
        assert entry["structured_output"] in MECHANISMS, name
        for model, data in entry["models"].items():
            setting = ModelSetting.model_validate({k: v for k, v in data.items() if k not in ("tokenizer", "token_scale", "price_source")})
            assert capability(setting, entry["structured_output"]) in MECHANISMS, (name, model)
    assert catalogue()["backends"]["deepseek"]["structured_output"] == "json_object"
    assert catalogue()["backends"]["anthropic"]["models"]["claude-opus-4-1"]["structured_output"] == "tool"
