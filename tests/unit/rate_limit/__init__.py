"""Our own rate limits: the in-memory store and the stores shared across processes."""
