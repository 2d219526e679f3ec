"""The README's and the seed README's examples, run as written."""
