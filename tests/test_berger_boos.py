"""The valid test of a standardized difference (``analysis/berger_boos.py``), where the score
test's size fails: Hoeffding's largest Poisson-binomial tail against random rate vectors'
exact distributions (by convolution), the baseline's bound against Clopper-Pearson's and, on
an uneven design, its coverage enumerated over every table at random rates, and the test's
size at the standardized null enumerated the same way."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import beta, binom

from pytest_empathy.analysis import berger_boos


def poisson_binomial_pmf(rates: np.ndarray) -> np.ndarray:
    """The exact distribution of sums of independent Bernoullis, one row of ``rates`` each,
    by convolution: [vector, count]."""
    pmf = np.zeros((rates.shape[0], rates.shape[1] + 1))
    pmf[:, 0] = 1.0
    for column in rates.T:
        shifted = np.zeros_like(pmf)
        shifted[:, 1:] = pmf[:, :-1] * column[:, None]
        pmf = pmf * (1 - column[:, None]) + shifted
    return pmf


def test_hoeffdings_tail_is_the_largest_over_random_rate_vectors_and_is_reached():
    """20,000 random rate vectors (sums of 3 to 12 Bernoullis, rates spread, some at 0 or 1):
    no tail above Hoeffding's at their mean, either way; and a vector of rates 0, one rate, 1
    reaches it (enumerated here by convolution)."""
    rng = np.random.default_rng(20261207)
    for n in range(3, 13):
        rates = rng.beta(0.4, 0.4, size=(2000, n))
        rates[rng.random(rates.shape) < 0.1] = 0.0
        rates[rng.random(rates.shape) < 0.1] = 1.0
        pmf = poisson_binomial_pmf(rates)
        means = rates.mean(axis=1)
        upper_tails = pmf[:, ::-1].cumsum(axis=1)[:, ::-1]  # P(S >= c)
        lower_tails = pmf.cumsum(axis=1)  # P(S <= c)
        for c in range(n + 1):
            sup_upper = np.array([berger_boos.hoeffding_tail(c, n, m, upper=True) for m in means[:50]])
            sup_lower = np.array([berger_boos.hoeffding_tail(c, n, m, upper=False) for m in means[:50]])
            assert (upper_tails[:50, c] <= sup_upper + 1e-12).all()
            assert (lower_tails[:50, c] <= sup_lower + 1e-12).all()
            # The rest by the sup's monotonicity in the mean, on a grid of means.
            grid = np.linspace(0, 1, 41)
            sups = np.array([berger_boos.hoeffding_tail(c, n, m, upper=True) for m in grid])
            above = np.searchsorted(grid, means)
            assert (upper_tails[:, c] <= sups[np.minimum(above, 40)] + 1e-12).all()
        for c, mean in itertools.product(range(1, n + 1), (0.13, 0.5, 0.71)):
            reached = max(
                poisson_binomial_pmf(np.array([[1.0] * k + [0.0] * j + [(n * mean - k) / (n - k - j)] * (n - k - j)]))[
                    0, c:
                ].sum()
                for k in range(n + 1)
                for j in range(n + 1 - k)
                if k + j < n and 0 <= (n * mean - k) / (n - k - j) <= 1
            )
            assert berger_boos.hoeffding_tail(c, n, mean, upper=True) == pytest.approx(reached, abs=1e-12)


def test_hoeffdings_tail_is_the_binomials_a_count_above_the_mean_and_n_mu_at_one():
    for n, mean, count in [(64, 0.2, 20), (64, 0.5, 40), (30, 0.05, 3), (200, 0.01, 4)]:
        assert count >= n * mean + 1
        assert berger_boos.hoeffding_tail(count, n, mean, upper=True) == pytest.approx(binom.sf(count - 1, n, mean))
        assert berger_boos.hoeffding_tail(n - count, n, 1 - mean, upper=False) == pytest.approx(
            binom.sf(count - 1, n, mean)
        )
    # Below that the binomial's is not the largest: one Bernoulli at rate n mu.
    assert berger_boos.hoeffding_tail(1, 64, 0.0005, upper=True) == pytest.approx(0.032)
    assert binom.sf(0, 64, 0.0005) < 0.032


@pytest.mark.parametrize(("count", "emotions"), [(0, 2), (2, 2), (30, 32), (987, 32), (1950, 32)])
def test_an_even_designs_bound_is_clopper_pearsons(count, emotions):
    """Each stratum's weight per rating the same (2 model ratings in each emotion of 62): the
    baseline's total is a Poisson-binomial sum and the bound is Clopper-Pearson's."""
    n = 62 * emotions
    strata = [(1, 2, min(62, max(0, count - 62 * i)), 62) for i in range(emotions)]
    gamma = 0.005
    expected = beta.ppf(1 - gamma, count + 1, n - count)
    assert count <= n * expected - 1
    assert berger_boos.standardized_rate_bound(strata, gamma, upper=True) == pytest.approx(expected, rel=1e-9)
    lower = beta.ppf(gamma, count, n - count + 1) if count > 0 else 0.0
    assert berger_boos.standardized_rate_bound(strata, gamma, upper=False) == pytest.approx(lower, rel=1e-9, abs=1e-12)


def test_past_clopper_pearsons_reach_the_bound_is_hoeffdings():
    """1,983 of 1,984 Good: more than n times Clopper-Pearson's bound minus 1, where the
    binomial's tail is not the largest; the bound is the mean whose largest tail is gamma."""
    count, n, gamma = 1983, 1984, 0.005
    bound = berger_boos.poisson_binomial_bound(count, n, gamma)
    assert bound >= beta.ppf(1 - gamma, count + 1, n - count)
    assert berger_boos.hoeffding_tail(count, n, bound, upper=False) <= gamma
    assert berger_boos.hoeffding_tail(count, n, bound - 1e-6, upper=False) > gamma


UNEVEN = [(0, 1, 0, 3), (0, 2, 0, 5)]


def tables(design: list[tuple[int, int, int, int]]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n2 + 1) for (_, _, _, n2) in design)))


def table_chances(design: list[tuple[int, int, int, int]], rates: np.ndarray) -> np.ndarray:
    """P(each baseline table) at each row of per-stratum ``rates``: [rates, table]."""
    found = np.ones((rates.shape[0], len(tables(design))))
    for i, x2 in enumerate(tables(design)):
        for k, (_, _, _, n2) in enumerate(design):
            found[:, i] *= binom.pmf(x2[k], n2, rates[:, k])
    return found


@pytest.mark.parametrize("gamma", [0.05, 0.2])
def test_an_uneven_designs_bound_covers_at_every_rate(gamma):
    """Uneven weights per rating (1 and 2 model ratings against 3 and 5): Chernoff's bound.
    Over every baseline table, at 3,000 random rate vectors (a third with a rate at 0 or 1),
    the upper bound is below the true standardized rate at most gamma of the time, and the
    lower above it; exact, no Monte Carlo error."""
    weights = np.array([s[1] for s in UNEVEN], dtype=float) / 3
    upper, lower = [], []
    for x2 in tables(UNEVEN):
        strata = [(0, n1, x, n2) for (_, n1, _, n2), x in zip(UNEVEN, x2, strict=True)]
        upper.append(berger_boos.standardized_rate_bound(strata, gamma, upper=True))
        lower.append(berger_boos.standardized_rate_bound(strata, gamma, upper=False))
    rng = np.random.default_rng(7)
    rates = rng.uniform(size=(3000, 2))
    rates[np.arange(1000), rng.integers(2, size=1000)] = rng.integers(2, size=1000)
    truth = rates @ weights
    chances = table_chances(UNEVEN, rates)
    missed_above = (chances * (np.array(upper)[None, :] < truth[:, None] - 1e-12)).sum(axis=1)
    missed_below = (chances * (np.array(lower)[None, :] > truth[:, None] + 1e-12)).sum(axis=1)
    assert missed_above.max() <= gamma
    assert missed_below.max() <= gamma
    # Not vacuous: the bound is below 1 where the baseline has no Good rating.
    assert upper[0] < 1 and lower[-1] > 0


@pytest.mark.parametrize("greater", [True, False])
def test_the_test_holds_its_size_at_the_standardized_null_and_agrees_with_its_interval(greater):
    """The uneven design above at alpha 0.05: at 3,000 random rate vectors of both sides on the
    null's boundary (the model's standardized rate the baseline's plus ``difference``), the
    chance of rejecting, every table of both sides enumerated, is at most alpha; each table's
    p-value is below alpha exactly when its interval's end excludes the null."""
    alpha = 0.05
    n1 = sum(s[1] for s in UNEVEN)
    weights = np.array([s[1] for s in UNEVEN], dtype=float) / n1
    differences = (0.0, 0.05, -0.05, 0.2)
    rejected = np.zeros((len(differences), n1 + 1, len(tables(UNEVEN))), dtype=bool)
    for j, x2 in enumerate(tables(UNEVEN)):
        for x1 in range(n1 + 1):
            # Only the model's total counts: its one binomial (Poisson-binomial) sum.
            strata = [(x1 if k == 0 else 0, s[1], x, s[3]) for k, (s, x) in enumerate(zip(UNEVEN, x2, strict=True))]
            figures = berger_boos.standardized_bounded(strata, alpha, greater=greater)
            for i, difference in enumerate(differences):
                p = berger_boos.standardized_bounded_p(strata, alpha, difference, greater=greater)
                rejected[i, x1, j] = p <= alpha
                end = figures.difference_end
                assert (p <= alpha) == (end > difference if greater else end < difference), (strata, difference)
    rng = np.random.default_rng(11)
    for i, difference in enumerate(differences):
        second = rng.uniform(size=(3000, 2))
        first = np.clip(second + difference + rng.normal(0, 0.3, size=(3000, 2)), 0, 1)
        # Onto the boundary: shift the model's rates evenly, keeping those that stay rates.
        first = first + ((second @ weights + difference) - first @ weights)[:, None]
        on_boundary = ((first >= 0) & (first <= 1)).all(axis=1)
        model = poisson_binomial_pmf(np.repeat(first[on_boundary], [s[1] for s in UNEVEN], axis=1))
        chances = table_chances(UNEVEN, second[on_boundary])
        size = np.einsum("va,aj,vj->v", model, rejected[i].astype(float), chances)
        assert on_boundary.sum() > 300
        assert size.max() <= alpha, difference


@pytest.mark.parametrize(("n1", "n2"), [(5, 40), (12, 30)])
@pytest.mark.parametrize("greater", [True, False])
def test_with_one_stratum_the_valid_test_holds_its_size_and_its_interval_agrees(n1, n2, greater):
    """One emotion's valid test (where the unpaired score test's size exceeds its level near
    the baseline's rate): at no difference and at the margins +-5 and 20 points, the chance of
    rejecting the true difference, every table enumerated and weighed at each rate of
    ``score_size.RATES``, is at most alpha; and each table's p-value is at most alpha exactly
    when its interval's end excludes the null."""
    from pytest_empathy.analysis import score_size

    alpha = 0.05
    for difference in (0.0, 0.05, -0.05, 0.2):
        rejected = np.zeros((n1 + 1, n2 + 1))
        for x1, x2 in itertools.product(range(n1 + 1), range(n2 + 1)):
            strata = [(x1, n1, x2, n2)]
            p = berger_boos.standardized_bounded_p(strata, alpha, difference, greater=greater)
            rejected[x1, x2] = p <= alpha
            if x2 % 5 == 0:
                end = berger_boos.standardized_bounded(strata, alpha, greater=greater).difference_end
                assert (p <= alpha) == (end > difference if greater else end < difference), (strata, difference)
        rates = score_size.RATES[(score_size.RATES + difference >= 0) & (score_size.RATES + difference <= 1)]
        first = binom.pmf(np.arange(n1 + 1)[None, :], n1, rates[:, None] + difference)
        second = binom.pmf(np.arange(n2 + 1)[None, :], n2, rates[:, None])
        size = ((first @ rejected) * second).sum(axis=1)
        assert size.max() <= alpha, (difference, size.max())
        # Conservative on so few ratings (0.0017 at most at no difference), yet it rejects.
        assert size.max() > 0.0
