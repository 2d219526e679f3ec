"""The development scripts and the opt-in live suite, checked offline."""
