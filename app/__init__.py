"""The vv-llm playground (Streamlit). Entry: ``streamlit run app/main.py``.

Modules here other than ``main``, ``bootstrap`` and ``ui`` never import Streamlit, so they can be
tested and benchmarked on their own.
"""

from importlib.util import find_spec

PLAYGROUND_HINT = "the playground needs its packages: pip install 'vv-llm[playground]'"
_missing = [name for name in ("streamlit", "sqlmodel", "alembic", "pandas", "altair") if find_spec(name) is None]
if _missing:
    raise ImportError(f"{PLAYGROUND_HINT} (missing: {', '.join(_missing)})", name=_missing[0])
