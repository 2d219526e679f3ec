"""Comparing models: the model picker, streaming runs and conversations, prompt sets and matrix runs,
what a call costs (and may cost before it is sent), and the difference between two answers."""
