"""Errors that reach users. Each carries the HTTP status and the Upstage-style `type` and `code`."""

from __future__ import annotations


class DocuocrError(Exception):
    """A failure the user can act on; rendered as {"error": {"message", "type", "code"}}."""

    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_json(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}


class InvalidDocument(DocuocrError):
    """Empty, truncated, corrupt or encrypted input."""

    code = "invalid_document"


class UnsupportedDocument(DocuocrError):
    status = 415
    code = "unsupported_document_format"


class DocumentTooLarge(DocuocrError):
    status = 413
    code = "document_too_large"


class PageTooLarge(DocuocrError):
    status = 413
    code = "page_too_large"


class ModelNotFound(DocuocrError):
    code = "model_not_found"


class Unauthorized(DocuocrError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class TooManyRequests(DocuocrError):
    status = 429
    type = "too_many_requests"
    code = "too_many_requests"


class Timeout(DocuocrError):
    status = 504
    type = "server_error"
    code = "timeout"
