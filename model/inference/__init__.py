"""Everything needed to read text, and nothing else: the charset, the settings (``config``), the one
preprocessing, the two networks (``crnn``, ``dbnet``), CTC decoding with the character language
model, detection post-processing, the page reader (``reader``), the API contract shared with the
gateway (``contract``) and the one function that assembles a reader from an archive folder or from
checkpoints (``assemble``). The archive build copies this package whole into the ``.mar``, so it may
import only itself, the standard library and the runtime packages (torch, numpy, OpenCV, Pillow);
never ``model.training`` or ``model.synth`` (``tests/model/test_isolation.py`` checks). This file
stays free of imports: the gateway imports ``contract`` without loading torch.
"""
