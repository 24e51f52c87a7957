"""The models of crnn-ocr, in three packages that depend one way only: ``inference`` (what serves;
imports nothing outside itself) <- ``synth`` (synthetic training data; may import ``inference``) <-
``training`` (trains, evaluates, exports; may import both). ``weights/`` holds the committed weights
and the character language model. This file stays free of imports: the archive carries it.
"""
