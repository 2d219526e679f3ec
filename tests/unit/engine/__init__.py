"""The call engine: resilience, typed errors, request reports, structured output, streams, context and message formatting."""
