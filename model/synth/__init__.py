"""Synthetic training data: a text corpus, the fonts that can draw it, and a line renderer."""
