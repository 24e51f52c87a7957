"""Reading whole images: line recognition in batches (``recognise``), crops straightened from the
detected boxes (``crops``), list markers the detector left out (``markers``), ruled lines (``rules``),
reading order (``order``), and the page reader that ties them to the detector (``pipeline``). Part of
``model.inference``: imports only that package. Every threshold comes from ``ReaderConfig``.
"""
