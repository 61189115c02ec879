"""The surge test: its tail probabilities, and its verdicts on synthetic series."""

from __future__ import annotations

import math
import random

import pytest

from shared.surge import SurgeTest, detect_surge, negative_binomial_tail, poisson_tail


def poisson_series(rng: random.Random, lam: float, days: int) -> list[int]:
    # Knuth's method: fine for small means.
    out = []
    for _ in range(days):
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                break
            k += 1
        out.append(k)
    return out


@pytest.mark.parametrize(("k", "lam"), [(0, 2.0), (1, 0.5), (3, 3.0), (8, 2.0), (25, 4.0)])
def test_the_poisson_tail_is_one_minus_the_lower_sum(k: int, lam: float) -> None:
    lower = sum(math.exp(-lam) * lam**i / math.factorial(i) for i in range(k))
    assert poisson_tail(k, lam) == pytest.approx(1 - lower, rel=1e-9, abs=1e-15)


def test_the_negative_binomial_tail_matches_its_pmf_and_is_heavier_than_poisson() -> None:
    mean, variance = 3.0, 9.0
    r, p = mean**2 / (variance - mean), mean / variance
    pmf = [  # r = 1.5: the gamma form of the binomial coefficient
        math.exp(
            math.lgamma(i + r)
            - math.lgamma(r)
            - math.lgamma(i + 1)
            + r * math.log(p)
            + i * math.log(1 - p)
        )
        for i in range(400)
    ]
    assert sum(pmf) == pytest.approx(1.0, abs=1e-9)
    assert negative_binomial_tail(10, mean, variance) == pytest.approx(sum(pmf[10:]), rel=1e-9)
    assert negative_binomial_tail(10, mean, variance) > poisson_tail(10, mean)


def test_without_overdispersion_the_negative_binomial_is_the_poisson() -> None:
    assert negative_binomial_tail(9, 3.0, 3.0) == poisson_tail(9, 3.0)


def test_an_ordinary_day_is_not_a_surge() -> None:
    history = poisson_series(random.Random(1), 4.0, 28)
    assert detect_surge(history, 6) is None
    assert detect_surge(history, 8) is None


def test_a_day_far_above_a_steady_baseline_is_a_surge() -> None:
    history = poisson_series(random.Random(2), 4.0, 28)
    finding = detect_surge(history, 20)
    assert finding is not None
    assert finding.count == 20
    assert finding.p_value < 1e-4
    assert finding.ratio > 3


def test_a_steady_history_is_judged_by_the_poisson() -> None:
    history = [4, 5, 3, 4, 6, 4, 3, 5, 4, 4, 5, 3, 4, 5] * 2  # variance well below the mean
    finding = detect_surge(history, 15)
    assert finding is not None
    assert finding.model == "poisson"
    assert finding.p_value == poisson_tail(15, sum(history) / len(history))


def test_a_bursty_history_raises_the_bar() -> None:
    history = [0, 12, 1, 10, 0, 11, 2, 13, 0, 9, 1, 12, 0, 10] * 2  # mean ≈ 5.1, variance ≈ 30
    # 16 would be a surge for a Poisson with this mean, not for a history this bursty.
    assert poisson_tail(16, sum(history) / len(history)) < 0.001
    assert detect_surge(history, 16) is None
    finding = detect_surge(history, 45)
    assert finding is not None
    assert finding.model == "negative-binomial"


def test_a_handful_is_never_a_surge_however_rare() -> None:
    quiet = [0] * 28
    assert detect_surge(quiet, 4) is None
    finding = detect_surge(quiet, 5)
    assert finding is not None
    assert finding.baseline_mean == 0


def test_without_enough_history_the_test_stays_silent() -> None:
    assert detect_surge([0] * 13, 50) is None
    assert detect_surge([0] * 14, 50) is not None


def test_the_ratio_rule_holds_even_when_the_tail_is_small() -> None:
    history = [100] * 28  # steady at 100: 140 is unlikely under Poisson, but not double
    assert poisson_tail(140, 100.0) < 0.001
    assert detect_surge(history, 140, SurgeTest(min_ratio=2.0)) is None
    assert detect_surge(history, 140, SurgeTest(min_ratio=1.3)) is not None


def test_false_alarms_on_a_steady_series_are_as_rare_as_alpha_says() -> None:
    series = poisson_series(random.Random(3), 5.0, 2028)
    alarms = sum(
        1 for day in range(28, len(series)) if detect_surge(series[day - 28 : day], series[day])
    )
    assert alarms <= 5  # 2,000 days at alpha = 0.001 and a 2x ratio rule


def test_a_planted_surge_is_found_on_its_day_only() -> None:
    series = poisson_series(random.Random(4), 5.0, 200)
    series[150] = 25
    found = [
        day for day in range(28, len(series)) if detect_surge(series[day - 28 : day], series[day])
    ]
    assert found == [150]


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        detect_surge([1, -1] * 10, 9)
