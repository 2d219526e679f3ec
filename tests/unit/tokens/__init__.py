"""Token counting: text, whole requests, the providers' own count endpoints."""
