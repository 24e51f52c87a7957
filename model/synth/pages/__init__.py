"""Synthetic pages for training a text detector: a page image plus a quadrilateral for every text line
(part of ``model.synth``, which may import ``model.inference`` only).

A page is typeset in one of a few layouts (document, columns, table, receipt, screenshot, sign,
vertical Chinese, or no text at all) from the same corpus and fonts as the training lines and in the
line renderer's look (``model/synth/render.py``); then come the capture artefacts of a scan or a
photo (lighting, skew, perspective onto a desk, then ``render.degrade`` without its geometry) and
finally, sometimes, a quarter turn of the whole page. ``core.py`` defines the boxes' coordinates.

Everything random comes from the ``random.Random`` passed in (numpy generators are seeded from it),
so a seed reproduces a page exactly.

Modules: ``core`` (pages, lines, the sheet being typeset), ``typefaces``, ``text``, ``colours``; one
module per layout family (``documents``, ``tables``, ``receipts``, ``screens``, ``signs``,
``vertical``, ``empty``); ``capture`` (lighting, warp, rotation); ``renderer`` (the layout table and
``PageRenderer``); ``__main__`` (writes samples to look at).
"""

from model.synth.pages.core import Page, PageLine
from model.synth.pages.renderer import LAYOUTS, PageRenderer, draw_boxes

__all__ = ["LAYOUTS", "Page", "PageLine", "PageRenderer", "draw_boxes"]
