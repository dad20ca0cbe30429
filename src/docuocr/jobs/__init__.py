"""Async OCR jobs: a durable store (store.py), a runner that feeds the server's OCR pool
(runner.py) and page splitting (pages.py); the HTTP endpoints are `docuocr.http.jobs`;
their settings are `config.JobSettings` (`Settings.jobs`)."""
