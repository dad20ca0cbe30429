"""Calibrated word confidence: a word scored 0.9 is right about 90% of the time.

`Calibrator.load()` reads the shipped parameters (default.json) or the file $DOCUOCR_CALIBRATION
names; `apply_page(page)` sets each word's confidence from its raw signals. `fit` fits new
parameters from labelled words, `collect` labels the engine's words on a benchmark dataset, and
`docuocr calibrate` puts the two together. See docs/calibration.md.
"""

from __future__ import annotations

from docuocr.calibration.model import ENV, CalibrationError, Calibrator

__all__ = ["ENV", "CalibrationError", "Calibrator"]
