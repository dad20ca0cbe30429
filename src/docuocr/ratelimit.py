"""Per-key rate limit: a token bucket per API key, like the hosted API's 3 requests per second.

A key may send `burst` requests at once; after that, one more every 1/`rate` seconds. The
bucket is checked after the key and before the body is read, so a client over its rate costs
the server nothing. Kept by hand: `limits` has fixed and moving windows but no token bucket
(a burst, then a steady fractional rate), so 429 timing and Retry-After would change.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_BUCKETS = 10_000  # beyond this, full (idle) buckets are forgotten; they restart full anyway


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # the bucket size: requests a key may send at once
    remaining: int  # whole requests left right now
    reset_s: float  # seconds until the bucket is full again
    retry_after_s: float  # seconds until the next request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_s)),
        }


class RateLimiter:
    """Token buckets by key. Thread-safe: FastAPI runs sync dependencies in a thread pool."""

    def __init__(
        self, rate: float, burst: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive; use no limiter to turn rate limiting off")
        self.rate = rate
        self.burst = burst if burst > 0 else max(1, math.ceil(rate))
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, key: str) -> Decision:
        """Spend one token of `key`'s bucket if there is one."""
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
                self._forget_full(now)
            self._buckets[key] = (tokens, now)
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=int(tokens),
            reset_s=(self.burst - tokens) / self.rate,
            retry_after_s=0.0 if allowed else (1.0 - tokens) / self.rate,
        )

    def _forget_full(self, now: float) -> None:
        self._buckets = {
            k: (t, then)
            for k, (t, then) in self._buckets.items()
            if t + (now - then) * self.rate < self.burst
        }
