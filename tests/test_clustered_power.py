"""Power figures of clustered runs are the power of the test the gates run (issue 29, round
two): a clustered statistic is referred to Student's t on G - 1 dof, and `detects`,
`detectable`, the WARNING lines and the `power` gate now use that t's quantile where they used
the normal's, which stated 80% for 75.3% at G = 12 and 77.4% at G = 20; with the noise of the
estimated variance too, since t's quantile alone stated 80% at an emotion's level (0.05 / 32)
for 76.7% at G = 12."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pytest_empathy.analysis import power
from pytest_empathy.analysis.distributions import NORMAL, Reference
from pytest_empathy.analysis.proportions import inflation
from pytest_empathy.analysis.versus_baseline import summarize

from .test_clusters import rated_against_counts

ALPHA = 0.05
RUNS = 20_000
# Monte Carlo standard error of a rate near 80% over RUNS runs: 0.28 points.
STANDARD_ERROR = math.sqrt(0.8 * 0.2 / RUNS)


def t_test_power(
    shift: float, null_spread: float, spread: float, clusters: int, seed: int, alpha: float = ALPHA
) -> float:
    """How often the clustered one-sided test at ``alpha`` rejects, simulated: its estimate is
    normal (mean ``shift``, SD ``spread``), its null standard error is estimated from
    ``clusters`` equal clusters' totals (a sandwich: ``null_spread`` times the root of a
    chi-square on G - 1 dof over G - 1, the spread of G normal totals about their mean), and
    the ratio is referred to Student's t on G - 1 dof."""
    rng = np.random.default_rng(seed)
    estimate = shift + spread * rng.standard_normal(RUNS)
    totals = rng.standard_normal((RUNS, clusters))
    estimated = null_spread * totals.std(axis=1, ddof=1)
    critical = stats.t.ppf(1 - alpha, clusters - 1)
    return float(np.mean(estimate / estimated > critical))


@pytest.mark.parametrize("clusters", [12, 20])
def test_a_stated_80_percent_paired_is_80_percent_under_t(clusters):
    """McNemar's test on 400 cases' worth (n over the design effect), 30% of them discordant:
    at the difference power.py states it detects with 80% power, the t test rejects 80% of
    the time within 3 Monte Carlo standard errors; at the normal's figure it did not."""
    n, discordant, reference = 400, 0.3, Reference(clusters - 1)

    def simulated(difference: float) -> float:
        spread = math.sqrt((discordant - difference**2) / n)
        return t_test_power(difference, math.sqrt(discordant / n), spread, clusters, clusters)

    difference = power.detectable_paired(discordant, n, ALPHA, reference)
    assert power.power_paired(difference, discordant, n, ALPHA, reference) == pytest.approx(power.POWER)
    assert abs(simulated(difference) - power.POWER) <= 3 * STANDARD_ERROR
    assert simulated(power.detectable_paired(discordant, n, ALPHA, NORMAL)) < power.POWER - 3 * STANDARD_ERROR


# An emotion's level: alpha over the 32 emotions (Holm's first step).
EMOTION_LEVEL = ALPHA / 32


@pytest.mark.parametrize(("alpha", "n1", "n2"), [(ALPHA, 200, 300), (EMOTION_LEVEL, 100, 62)])
@pytest.mark.parametrize("clusters", [12, 20])
def test_a_stated_80_percent_unpaired_is_80_percent_under_t(clusters, alpha, n1, n2):
    """A Good rate of 49% against 300 ratings, 200 cases' worth on the model's side, overall;
    against an emotion's 62 ratings, 100 cases' worth, at an emotion's level: the rise
    power.py states it detects with 80% power is rejected 80% of the time."""
    rate2, reference = 0.49, Reference(clusters - 1)
    gain = power.detectable_unpaired(rate2, n1, n2, alpha, upward=True, reference=reference)
    assert gain is not None
    rate1 = rate2 + gain
    pooled = (n1 * rate1 + n2 * rate2) / (n1 + n2)
    null = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    spread = math.sqrt(rate1 * (1 - rate1) / n1 + rate2 * (1 - rate2) / n2)
    simulated = t_test_power(gain, null, spread, clusters, n1 + clusters, alpha)
    assert abs(simulated - power.POWER) <= 3 * STANDARD_ERROR


@pytest.mark.parametrize("alpha", [ALPHA, EMOTION_LEVEL])
@pytest.mark.parametrize("clusters", [12, 20, 40])
def test_a_stated_80_percent_is_the_noncentral_ts_within_half_a_point(clusters, alpha):
    """With equal spreads under the null and the alternative the t test's power is the
    noncentral t's exactly (scipy): where power.py states 80%, at the overall level and at an
    emotion's, the noncentral t gives 80% within half a point (80.0-80.2%). The shifted
    normal with t's quantile alone stated 80% for 79.5% at G = 12 overall, and at an
    emotion's level for 76.7% at G = 12 and 78.2% at G = 20; the normal's quantile for 75.3%
    overall at G = 12. (Far from 80% the figures may be further off: they state only where
    80% is reached.)"""
    nu = clusters - 1
    critical = stats.t.ppf(1 - alpha, nu)
    # power_paired on so many cases that the difference's square is nothing beside the
    # discordant share: the null and the alternative spreads are one, the shift in SEs.
    n, discordant = 1e12, 0.5

    def noncentral_t_power(difference: float) -> float:
        return float(stats.nct.sf(critical, nu, difference / math.sqrt(discordant / n)))

    difference = power.detectable_paired(discordant, n, alpha, Reference(nu))
    assert power.power_paired(difference, discordant, n, alpha, Reference(nu)) == pytest.approx(power.POWER, abs=1e-3)
    assert abs(noncentral_t_power(difference) - power.POWER) <= 0.005
    # The figure before: the normal shifted by t's quantile.
    shifted_normal = (critical + stats.norm.ppf(power.POWER)) * math.sqrt(discordant / n)
    assert noncentral_t_power(shifted_normal) < power.POWER - (0.015 if alpha < ALPHA and clusters <= 20 else 0.0)
    normal_shift = power.detectable_paired(discordant, n, alpha, NORMAL)
    assert noncentral_t_power(normal_shift) < (0.78 if clusters <= 20 else 0.795)


def test_a_clustered_runs_detectable_figures_use_its_t():
    """64 cases by 16 raters against counts: `detectable` is the figure on n over the design
    effect at t on G - 1 = 15 dof, and wider than the normal's."""
    cases, baseline = rated_against_counts(np.random.default_rng(16), 64, 4, 0.3)
    summary = summarize(cases, alpha=ALPHA, per_emotion_baseline=baseline)
    comparison = summary.overall.comparison
    assert comparison.design is not None and comparison.design.clusters == 16
    shrink = inflation(comparison.design.good)
    figures = (comparison.baseline.good_rate, comparison.model.n / shrink, comparison.baseline.n / shrink, ALPHA)
    found = summary.detectable["overall"]
    assert found.gain == pytest.approx(
        power.detectable_unpaired(*figures, upward=True, reference=comparison.design.reference)
    )
    assert found.gain > power.detectable_unpaired(*figures, upward=True)
