"""Evidence use cases: upload, read, list and presign, over abstract ports."""
