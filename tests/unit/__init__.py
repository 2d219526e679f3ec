"""Unit tests, laid out like ``vv_llm/`` (a package so same-named modules in different folders never clash)."""
