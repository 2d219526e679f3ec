"""Shared utilities: media loading, retry, rate limits, token counting."""
