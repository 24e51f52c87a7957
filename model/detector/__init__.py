"""Text-line detection: a DBNet-style segmentation network (``network``), its training targets
(``targets``), the one input path shared by training and serving (``preprocessing``), boxes from the
predicted map (``boxes``), synthetic page crops (``data``), training (``train``) and checkpoints."""
