"""The tests (``make test``), by part: ``model`` (units of the three model packages, and that
``model.inference`` stands alone), ``handler``, ``gateway``, ``archive``, ``deploy``, ``integration``
(a real TorchServe from the built ``.mar`` behind the real gateway), ``browser`` (the web UI in
headless Chromium), and ``bench`` (``make bench*`` scripts and their unit tests). Tests may import
anything in the repository."""
