"""Shape one call for one endpoint: structured output, each option's fate, and the request report.

Written once for every protocol: adapters only declare what they take (``Adapter.option_fields``,
``option_fate``, ``extra_fate``, ``structured_formats``). Options an endpoint cannot take are
removed before the adapter builds the request, and ``unsupported=`` decides what else happens:
``"warn"`` (default) warns with :class:`~vv_llm.errors.UnsupportedOptionWarning`, ``"error"``
raises :class:`~vv_llm.errors.UnsupportedOptionError` before anything is sent, ``"drop"`` only
reports. Nothing is dropped silently: every reply and error carries the report.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from vv_llm.chat_clients.structured import OutputSpec, StructuredPlan, output_spec, plan_for
from vv_llm.chat_clients.structured import capability as model_capability
from vv_llm.errors import InvalidRequestError, UnsupportedOptionError, UnsupportedOptionWarning
from vv_llm.settings.catalogue import backend_entry
from vv_llm.types.report import OptionReport, RequestReport

if TYPE_CHECKING:
    from vv_llm.chat_clients.adapters.base import Adapter, CallParams
    from vv_llm.settings.store import ResolvedEndpoint, ResolvedModel

PROVIDER_OPTIONS = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "thinking",
    "reasoning_effort",
    "prompt_cache",
)
"""Call options that reach the provider (timeouts, deadline, retries and context control are ours)."""
_ORDER = {name: i for i, name in enumerate(PROVIDER_OPTIONS)}
UNSUPPORTED_POLICIES = ("warn", "error", "drop")
_CLEARED: dict[str, Any] = {"prompt_cache": False}
_SENT = OptionReport("sent")


@dataclass(slots=True)
class CallOptions:
    """What the caller asked for, kept for shaping each attempt."""

    given: tuple[str, ...] = ()
    """Provider options the caller gave (extra keywords are read from ``params.extra_body``)."""
    requested_max_tokens: int | None = None
    output: OutputSpec | None = None
    capability: str = "instruction"
    """The model's structured-output capability (see ``structured.capability``)."""
    tools_allowed: bool = True
    unsupported: str = "warn"


def call_options(options: dict[str, Any], resolved: ResolvedModel) -> CallOptions:
    """Read the caller's options once per call."""
    unsupported = options.get("unsupported") or "warn"
    if unsupported not in UNSUPPORTED_POLICIES:
        raise InvalidRequestError(f"unsupported must be one of warn, error, drop (got {unsupported!r})")
    # The caller's few options, in PROVIDER_OPTIONS order (the report lists them so).
    given = tuple(sorted((name for name in options if name in _ORDER and _given(options[name])), key=_ORDER.__getitem__))
    spec = None
    capability = "instruction"
    if options.get("response_format") is not None:
        spec = output_spec(options["response_format"])
        capability = model_capability(resolved.setting, backend_entry(resolved.backend.value).get("structured_output"))
        if spec is None:
            given = tuple(name for name in given if name != "response_format")
    return CallOptions(
        given=given,
        requested_max_tokens=options.get("max_tokens"),
        output=spec,
        capability=capability,
        tools_allowed=resolved.setting.function_call_available is not False,
        unsupported=unsupported,
    )


@dataclass(slots=True)
class Shaped:
    params: CallParams
    plan: StructuredPlan | None
    report: RequestReport


def shape_call(
    options: CallOptions,
    params: CallParams,
    adapter: Adapter,
    endpoint: ResolvedEndpoint,
    resolved: ResolvedModel,
    failed_over: list[str],
) -> Shaped:
    """``params`` as this endpoint will receive them, the structured-output plan, and the report."""
    plan = None
    sent = params
    if options.output is not None:
        plan = plan_for(options.output, options.capability, adapter, params, options.tools_allowed)
        sent = plan.apply(params)
    fates: dict[str, OptionReport] = {}
    dropped: dict[str, str] = {}
    for name in options.given:
        if name == "response_format" and plan is not None:
            target = plan.describe(adapter, params)
            sent_as_is = target == "response_format" and plan.spec.model is None
            fates[name] = _SENT if sent_as_is else OptionReport("mapped", target)
            continue
        status, detail = adapter.option_fate(name, params)
        if name == "max_tokens" and status != "dropped" and params.max_tokens != options.requested_max_tokens:
            status, detail = "mapped", f"{detail or 'max_tokens'}={params.max_tokens} (the model's max output)"
        fates[name] = _fate(status, detail)
        if status == "dropped":
            dropped[name] = detail or "not supported"
    for key in params.extra_body:
        status, detail = adapter.extra_fate(key, params)
        fates[key] = _fate(status, detail)
        if status == "dropped":
            dropped[key] = detail or "not supported"
    report = RequestReport(
        backend=resolved.backend.value,
        model=resolved.name,
        model_id=params.model_id,
        endpoint_id=endpoint.id,
        provider=adapter.provider,
        failed_over=[e for e in failed_over if e != endpoint.id],
        structured_output=plan.mechanism if plan is not None else None,
        options=fates,
    )
    if dropped:
        sent = _without(sent, dropped)
        _enforce(options.unsupported, dropped, report)
    return Shaped(sent, plan, report)


def _given(value: Any) -> bool:
    return value is not None and value is not False and not (isinstance(value, (list, dict)) and not value)


def _fate(status: str, detail: str | None) -> OptionReport:
    if status == "mapped":
        return OptionReport("mapped", to=detail)
    if status == "dropped":
        return OptionReport("dropped", reason=detail)
    return _SENT


def _without(params: CallParams, dropped: dict[str, str]) -> CallParams:
    fields: dict[str, Any] = {name: _CLEARED.get(name) for name in dropped if name in PROVIDER_OPTIONS}
    if any(key in params.extra_body for key in dropped):
        fields["extra_body"] = {k: v for k, v in params.extra_body.items() if k not in dropped}
    return replace(params, **fields)


def _enforce(policy: str, dropped: dict[str, str], report: RequestReport) -> None:
    where = f"{report.backend} model {report.model!r} on endpoint {report.endpoint_id!r}"
    listed = "; ".join(f"{name}: {reason}" for name, reason in dropped.items())
    if policy == "error":
        raise UnsupportedOptionError(
            f"{where} cannot take {', '.join(dropped)} ({listed}); nothing was sent. Pass unsupported='warn' or 'drop' to send without them",
            options=dict(dropped),
            request_report=report,
        )
    if policy == "warn":
        warnings.warn(
            f"{where}: dropped {listed} (unsupported='drop' silences this, 'error' refuses)", UnsupportedOptionWarning, stacklevel=6
        )
