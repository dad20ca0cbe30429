"""docuocr's tests; the helper modules here are imported as `tests.<module>`."""
