"""The playground's side of settings: the user's file (read, validate, write; secrets redacted and
scrubbed), the draft the editor changes, keeping the engine on them, and "Test connection".

The rules themselves (schema, catalogue, loading) are the engine's, in ``vv_llm.settings``."""
