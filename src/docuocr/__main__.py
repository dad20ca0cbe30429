"""`python -m docuocr` is the `docuocr` command."""

from docuocr.cli import run

if __name__ == "__main__":
    run()
