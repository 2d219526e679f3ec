"""The fake server's wire protocols, one module per protocol as in ``vv_llm.chat_clients.adapters``."""
