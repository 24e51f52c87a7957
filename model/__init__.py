"""CRNN text-line recogniser: network, charset, preprocessing, decoding, training and export."""
