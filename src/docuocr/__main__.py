"""`python -m docuocr` is the `docuocr` command."""

from docuocr.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
