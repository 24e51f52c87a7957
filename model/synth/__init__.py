"""Synthetic training data, never shipped: the alphabet the next model is trained on (``alphabet``),
a text corpus, the fonts that can draw it, the line renderer (``render``) and the page renderer
(``pages``). May import ``model.inference`` (the charset); never ``model.training``.
"""
