"""The response types (``vv_llm.types``)."""
