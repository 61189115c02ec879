"""Is today's count a surge? A one-sided test of a daily count against its rolling baseline.

The baseline is the node's own history: the daily counts of the ``window_days`` before today
(zeros included), for one category or one place. Counts of rare events are Poisson when their
days are alike; petition counts are often *overdispersed* (quiet weeks, busy weeks), and a
Poisson test would then cry wolf. So when the window is significantly overdispersed (index of
dispersion test) the test uses the negative binomial with the window's mean and variance
(method of moments), else the Poisson.

A surge needs all three: the tail probability of a count at least as large is below ``alpha``,
the count reaches ``min_count`` (three complaints are not a surge, however rare), and it is at
least ``min_ratio`` times the baseline mean. With less than ``min_history_days`` of history the
test stays silent: a node that just opened has no baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["SurgeFinding", "SurgeTest", "detect_surge", "negative_binomial_tail", "poisson_tail"]

# A baseline of zero would make any count infinitely unlikely: assume half an event per window.
FLOOR_EVENTS_PER_WINDOW = 0.5


@dataclass(frozen=True)
class SurgeTest:
    window_days: int = 28
    min_history_days: int = 14
    alpha: float = 0.001
    min_count: int = 5
    min_ratio: float = 2.0


@dataclass(frozen=True)
class SurgeFinding:
    count: int
    baseline_mean: float
    baseline_variance: float
    p_value: float
    model: str  # "poisson" or "negative-binomial"

    @property
    def ratio(self) -> float:
        return self.count / self.baseline_mean if self.baseline_mean else math.inf


def _log_poisson(k: int, lam: float) -> float:
    return k * math.log(lam) - lam - math.lgamma(k + 1)


def _log_negative_binomial(k: int, r: float, p: float) -> float:
    # P(X = k) = C(k + r - 1, k) p^r (1 - p)^k, mean r(1 - p)/p
    return (
        math.lgamma(k + r)
        - math.lgamma(r)
        - math.lgamma(k + 1)
        + r * math.log(p)
        + k * math.log1p(-p)
    )


def _upper_tail(pmf: Callable[[int], float], k: int, mean: float) -> float:
    """P(X >= k) for a unimodal count distribution given by its log pmf."""
    if k <= 0:
        return 1.0
    if k <= mean:  # the tail holds most of the mass: 1 - P(X < k)
        lower = sum(math.exp(pmf(i)) for i in range(k))
        return max(0.0, 1.0 - lower)
    total = 0.0
    i = k
    while True:  # past the mode the terms only shrink
        term = math.exp(pmf(i))
        total += term
        if term < 1e-17 * max(total, 1e-300) or i - k > 10_000:
            return min(1.0, total)
        i += 1


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    return _upper_tail(lambda i: _log_poisson(i, lam), k, lam)


def negative_binomial_tail(k: int, mean: float, variance: float) -> float:
    """P(X >= k) for a negative binomial with this mean and variance (variance > mean)."""
    if variance <= mean:
        return poisson_tail(k, mean)
    r = mean * mean / (variance - mean)
    p = mean / variance
    return _upper_tail(lambda i: _log_negative_binomial(i, r, p), k, mean)


def _overdispersed(variance: float, mean: float, n: int) -> bool:
    """The index of dispersion test: under a Poisson, (n - 1) s² / mean is χ²(n - 1), whose
    mean is n - 1 and standard deviation sqrt(2 (n - 1)); beyond two of those, the history is
    burstier than chance."""
    if n < 2 or mean <= 0:
        return False
    return variance / mean > 1 + 2 * math.sqrt(2 / (n - 1))


def detect_surge(
    history: Sequence[int], today: int, test: SurgeTest | None = None
) -> SurgeFinding | None:
    """The finding when ``today`` is a surge against ``history`` (oldest first), else None."""
    rule = test or SurgeTest()
    window = list(history)[-rule.window_days :]
    if len(window) < rule.min_history_days or today < rule.min_count:
        return None
    if any(c < 0 for c in window) or today < 0:
        raise ValueError("counts are never negative")
    mean = sum(window) / len(window)
    variance = sum((c - mean) ** 2 for c in window) / (len(window) - 1) if len(window) > 1 else 0.0
    baseline = max(mean, FLOOR_EVENTS_PER_WINDOW / len(window))
    if today < rule.min_ratio * baseline:
        return None
    if _overdispersed(variance, baseline, len(window)):
        p_value, model = negative_binomial_tail(today, baseline, variance), "negative-binomial"
    else:
        p_value, model = poisson_tail(today, baseline), "poisson"
    if p_value >= rule.alpha:
        return None
    return SurgeFinding(today, mean, variance, p_value, model)
