"""Every cost the playground shows says where its prices came from."""

from __future__ import annotations

from typing import Any

from playground_helpers import texts, wait_for_run


def test_each_column_cost_names_its_price_source(app: Any) -> None:
    at = app.run()
    at.text_area(key="prompt").set_value("What does this cost?")
    at.button(key="run-button").click().run()
    at = wait_for_run(at)
    states = at.session_state["conversation"].current.run.snapshot()
    assert all(s.cost is not None and s.cost_source == "your settings" for s in states)  # the demo models' prices are in settings
    badges = [t for t in texts(at.markdown) if "TTFT" in t]
    assert len(badges) == 3 and all("prices: your settings" in t for t in badges)


def test_cost_badges_name_genai_prices_and_the_catalogue() -> None:
    from app.compare.costs import priced
    from app.compare.runner import ColumnState
    from app.ui.common import md_escape
    from app.ui.results import metrics_markdown

    usage = {"prompt_tokens": 1000, "completion_tokens": 200}
    for backend, model, source in (("openai", "gpt-4o", "genai-prices 0."), ("qwen", "qwen-plus", "vv-llm catalogue (checked 20")):
        result = priced(backend, model, usage)
        assert result is not None and result.source is not None and result.source.label.startswith(source)
        state = ColumnState(backend=backend, model=model, status="done", usage=usage, cost=result.total, cost_source=result.source.label)
        assert f"prices: {md_escape(result.source.label)}" in metrics_markdown(state)
