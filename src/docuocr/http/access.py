"""Who may call, how often, and who they are: the API key, the per-key rate limit and the owner of
async jobs (a hash of the key), in one dependency that every endpoint with a key uses."""

# No `from __future__ import annotations`: FastAPI must see the closure's real annotations.
import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from docuocr.auth import check_key
from docuocr.config import Settings
from docuocr.errors import TooManyRequests
from docuocr.jobs.store import owner_of
from docuocr.metrics import Metrics
from docuocr.ratelimit import RateLimiter

BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


class Access:
    """`limited` (key and rate limit: every request that spends OCR) and `known` (key only:
    polling and listing) are FastAPI dependencies that return the caller's owner id. Without
    auth, everyone is the same owner and the rate limit is per client address."""

    def __init__(self, settings: Settings, require_auth: bool, metrics: Metrics) -> None:
        self.keys = settings.api_keys
        self.require_auth = require_auth
        self.metrics = metrics
        self.limiter = (
            RateLimiter(settings.rate_limit, settings.rate_burst)
            if settings.rate_limit > 0
            else None
        )
        self.limited = self._dependency(rate_limited=True)
        self.known = self._dependency(rate_limited=False)

    def _dependency(self, rate_limited: bool) -> Callable[..., str]:
        def caller(request: Request, creds: Credentials) -> str:
            return self.check(request, creds, rate_limited)

        return caller

    def owner(self, creds: HTTPAuthorizationCredentials | None) -> str:
        """The owner id of a key, after checking it."""
        if not self.require_auth:
            return owner_of("")
        token = creds.credentials if creds else None
        check_key(token, self.keys)
        return owner_of(token or "")

    def check(
        self, request: Request, creds: HTTPAuthorizationCredentials | None, rate_limited: bool
    ) -> str:
        owner = self.owner(creds)
        if rate_limited and self.limiter is not None:
            # Per key; without auth, per client address.
            token = creds.credentials if creds else None
            host = request.client.host if request.client else "-"
            decision = self.limiter.take(f"key:{token}" if self.require_auth else f"addr:{host}")
            request.state.rate_limit_headers = decision.headers()
            if not decision.allowed:
                self.metrics.rejected.labels("rate_limit").inc()
                err = TooManyRequests(
                    f"rate limit exceeded: this API key may send {self.limiter.rate:g} requests "
                    f"per second (bursts of {self.limiter.burst}); retry after the Retry-After "
                    "seconds"
                )
                err.retry_after = max(1, math.ceil(decision.retry_after_s))
                raise err
        return owner
