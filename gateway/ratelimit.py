"""Requests per user: a token bucket per token subject, at the gateway.

Each user (the JWT ``sub``) may send ``burst`` requests at once and ``rate`` a second after
that; one more is answered HTTP 429, ``RATE_LIMITED``, with ``Retry-After`` (whole seconds)
and ``extensions.retryAfter`` (seconds, to the millisecond). A dashboard opening a view sends
a handful of requests together, hence the burst; a script looping over every township is
held to the rate. The buckets live in one gateway process: with N replicas behind a load
balancer a user gets up to N times the rate (docs/deploy.md), which bounds load per replica,
the thing the limit is for. Buckets of users not seen for a while are dropped (a full bucket
and a missing one are the same), so memory is bounded by the users active in a minute.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RATE_LIMITED", "RateLimit", "RateLimiter", "rate_limited_body"]

RATE_LIMITED = "RATE_LIMITED"


@dataclass(frozen=True)
class RateLimit:
    rate: float = 20.0  # requests a second, sustained
    burst: int = 60  # requests at once

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RateLimit | None:
        """``XINFANG_RATE_LIMIT`` (requests a second; ``0`` switches limiting off) and
        ``XINFANG_RATE_BURST``."""
        env = os.environ if env is None else env
        rate = _number(env, "XINFANG_RATE_LIMIT", cls.rate)
        if rate == 0:
            return None
        burst = _number(env, "XINFANG_RATE_BURST", cls.burst)
        if burst < 1 or burst != int(burst):
            raise ValueError("XINFANG_RATE_BURST must be a whole number of at least 1")
        return cls(rate=rate, burst=int(burst))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of at least 0, not {raw!r}")
    return value


class RateLimiter:
    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = 100_000,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_users = max_users
        # subject -> (tokens left, when counted); least recently seen first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, subject: str) -> float | None:
        """Spend one request of ``subject``'s; None when allowed, else the seconds until one
        more would be."""
        now = self.clock()
        tokens, then = self._buckets.pop(subject, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - then) * self.limit.rate)
        self._forget_idle(now)
        if tokens >= 1.0:
            self._buckets[subject] = (tokens - 1.0, now)
            return None
        self._buckets[subject] = (tokens, now)
        return (1.0 - tokens) / self.limit.rate

    def _forget_idle(self, now: float) -> None:
        """Drop buckets full again by now (seen long enough ago), oldest first, and the
        oldest beyond ``max_users``."""
        refill = self.limit.burst / self.limit.rate
        while self._buckets:
            subject, (_, then) = next(iter(self._buckets.items()))
            if now - then < refill and len(self._buckets) < self.max_users:
                break
            del self._buckets[subject]

    def __len__(self) -> int:
        return len(self._buckets)


def rate_limited_body(retry_after: float) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": f"Too many requests: try again in {retry_after:.1f} s.",
                "extensions": {"code": RATE_LIMITED, "retryAfter": round(retry_after, 3)},
            }
        ]
    }
