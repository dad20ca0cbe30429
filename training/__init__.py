"""Training code that is not part of the docuocr package (models are trained offline)."""
