"""The fake provider server (``vv_llm.testing``): each wire checked by an independent parser."""
