"""Loading, validating and resolving settings."""
