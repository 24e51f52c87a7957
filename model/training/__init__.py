"""Training, evaluation and export, never shipped: data sets of synthetic lines and page crops, the
one training loop (``loop``) that the recogniser (``recogniser``) and the detector (``detector``)
share, checkpoint writing and charset growth, the language-model build, scoring, ``make eval``, and
the export of checkpoints into the archive folder. May import ``model.inference`` and ``model.synth``.
"""
