"""The vv-llm playground (Streamlit). Entry: ``streamlit run streamlit_app.py`` at the repository root.

Feature packages: ``compare`` (runs, conversations, prompt sets, matrix), ``history`` (the database,
exports, the Usage page's data), ``settings`` (the settings file and editor), ``arena`` (judgments);
``ui`` holds the shared widgets and ``pages`` the page scripts. Only ``bootstrap``, ``ui`` and ``pages``
import Streamlit, so everything else can be tested and benchmarked on its own.
"""

from importlib.util import find_spec

PLAYGROUND_HINT = "the playground needs its packages: pip install 'vv-llm[playground]'"
_missing = [name for name in ("streamlit", "sqlmodel", "alembic", "pandas", "altair") if find_spec(name) is None]
if _missing:
    raise ImportError(f"{PLAYGROUND_HINT} (missing: {', '.join(_missing)})", name=_missing[0])
