"""Reading whole pages: from detected text lines to their text in reading order."""
