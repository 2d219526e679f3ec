"""The optional token server."""
