"""`docuocr bench`: accuracy, calibration and speed of docuocr against other OCR systems.

`main(argv)` is the command; `metrics` holds the pure scoring functions, `datasets` the loaders,
`systems` the OCR systems compared, and `synth` the Korean page generator.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run `docuocr bench` with `argv` (without the program name); returns the exit code."""
    from docuocr.bench.run import main as run

    return run(argv)


__all__ = ["main"]
