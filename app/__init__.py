"""The vv-llm playground (Streamlit). Entry: ``streamlit run app/main.py``.

Modules here other than ``main``, ``bootstrap`` and ``ui`` never import Streamlit, so they can be
tested and benchmarked on their own.
"""
