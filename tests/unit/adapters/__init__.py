"""Each protocol adapter through the public API against the fake server, the SSE parser and the decoders under fuzzing."""
