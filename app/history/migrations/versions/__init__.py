"""One revision per schema change; each names the one before it in ``down_revision``."""
