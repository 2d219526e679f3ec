"""The cost of a call (``vv_llm.pricing``)."""
