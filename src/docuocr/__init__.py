"""docuocr: self-hosted Document OCR with an Upstage-compatible API."""

__version__ = "0.1.0"
