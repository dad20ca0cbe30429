"""The HTTP layer: `app.create_app` builds the FastAPI app from `middleware` (request id, logs,
metrics, body limit, JSON errors), `access` (API key, rate limit, owner: one dependency), `form`
(the one reader of the OCR endpoints' multipart form) and one router each: `ocr` (the sync
Upstage API), `jobs` (the async API), `viewer` (the web viewer) and `searchable` (the searchable
PDF). OCR itself runs in `docuocr.pool`, never here."""
