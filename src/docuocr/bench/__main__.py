"""`python -m docuocr.bench ...` until the CLI wires `docuocr bench`."""

import sys

from docuocr.bench import main

raise SystemExit(main(sys.argv[1:]))
