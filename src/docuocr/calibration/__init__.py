"""Calibrated word confidence: a word scored 0.9 is right about 90% of the time.

`Calibrator.load(path)` reads the file at `path` (the engine's calibration.file setting, or
$DOCUOCR_CALIBRATION) or the shipped parameters (default.json); `apply_page(page)` sets each
word's confidence from its raw signals. `fit` fits new
parameters from labelled words, `collect` labels the engine's words on a benchmark dataset, and
`docuocr calibrate` puts the two together. See docs/calibration.md.
"""

from __future__ import annotations

from docuocr.calibration.model import CalibrationError, Calibrator

__all__ = ["CalibrationError", "Calibrator"]
