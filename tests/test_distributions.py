"""The distribution functions computed in plain Python (analysis/distributions.py), against
scipy's, over the ranges the statistics use them in and beyond."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from pytest_empathy.analysis import distributions

DOFS = st.one_of(st.integers(1, 400).map(float), st.floats(0.5, 5000))


def close(ours: float, theirs: float, rel: float = 1e-12) -> bool:
    """Equal within ``rel`` of the larger, or both below what a p-value can mean."""
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-300)


@settings(max_examples=400, deadline=None)
@given(dof=st.integers(1, 60), statistic=st.floats(0, 400))
def test_the_chi_square_tail_is_scipy_s(dof, statistic):
    assert close(distributions.chi2_sf(dof, statistic), float(special.chdtrc(dof, statistic)), rel=1e-11)


@settings(max_examples=400, deadline=None)
@given(dof=DOFS, x=st.floats(-60, 60))
def test_the_t_distribution_is_scipy_s(dof, x):
    # Within 1e-4 of 0 scipy's stdtr itself is off by up to about 1e-9 (the closed forms below).
    scipy_s_error = 1e-9 if abs(x) < 1e-4 else 1e-300
    assert math.isclose(distributions.t_cdf(dof, x), float(stats.t.cdf(x, dof)), rel_tol=1e-11, abs_tol=scipy_s_error)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-1e6, 1e6))
def test_the_t_distribution_is_its_closed_form_at_one_and_two_degrees_of_freedom(x):
    # Written without cancellation in the lower tail.
    root = math.sqrt(2 + x * x)
    one = math.atan(-1 / x) / math.pi if x < 0 else 0.5 + math.atan(x) / math.pi
    two = 1 / (root * (root - x)) if x < 0 else 0.5 + x / (2 * root)
    assert math.isclose(distributions.t_cdf(1, x), one, rel_tol=1e-13, abs_tol=1e-300)
    assert math.isclose(distributions.t_cdf(2, x), two, rel_tol=1e-12, abs_tol=1e-16)


@settings(max_examples=300, deadline=None)
@given(dof=DOFS, confidence=st.floats(0.01, 0.9999))
def test_the_t_quantile_is_scipy_s(dof, confidence):
    theirs = float(stats.t.ppf(0.5 + confidence / 2, dof))
    assert distributions.t_quantile(dof, confidence) == pytest.approx(theirs, rel=1e-10, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-37, 37), confidence=st.floats(1e-6, 1 - 1e-12))
def test_the_normal_distribution_is_scipy_s(x, confidence):
    assert close(distributions.normal_cdf(x), float(special.ndtr(x)), rel=1e-12)
    assert distributions.normal_quantile(confidence) == pytest.approx(
        float(special.ndtri(0.5 + confidence / 2)), rel=1e-12, abs=1e-14
    )


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 5000), data=st.data())
def test_log_choose_is_scipy_s_on_numbers_and_arrays(n, data):
    ks = np.array(data.draw(st.lists(st.integers(0, n), min_size=1, max_size=30)))
    theirs = special.gammaln(n + 1) - special.gammaln(ks + 1) - special.gammaln(n - ks + 1)
    assert distributions.log_choose(n, ks) == pytest.approx(theirs, rel=1e-12, abs=1e-9)
    assert distributions.log_choose(n, int(ks[0])) == pytest.approx(float(theirs[0]), rel=1e-12, abs=1e-9)


def test_log_choose_refuses_k_outside_0_to_n():
    with pytest.raises(ValueError, match="0 <= k <= n"):
        distributions.log_choose(3, np.array([1, 4]))


def test_the_default_run_s_statistics_import_neither_scipy_nor_numpy():
    """A replay's statistics used to import scipy.special and numpy, about 0.25 s of a 2-s
    replay; the exact test (an expected count below 5, here) now runs without them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pytest_empathy.analysis.versus_baseline import summarize\n"
        "from pytest_empathy.ratings import Rating\n"
        "class C:\n"
        "    def __init__(s, i):\n"
        "        s.case_id, s.emotion = f'c{i}', 'sad' if i < 34 else 'joyful'\n"
        "        s.rating, s.baseline_rating = Rating(1 + i % 3), Rating(1 + (i // 7) % 3)\n"
        "        s.rater = s.baseline_rater = None\n"
        "summary = summarize([C(i) for i in range(40)], alpha=0.05)\n"
        "print(sorted({g.comparison.study.test for g in summary.emotions.values()}))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["['chi2', 'exact']", "[]"]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 3000), p=st.sampled_from([0.0, 1.0]) | st.floats(1e-12, 1 - 1e-12), where=st.floats(0, 1))
def test_the_binomial_mass_and_tail_are_scipy_s(n, p, where):
    # scipy itself overflows for a subnormal p; below 1e-15 a probability counts for nothing
    # the power sums add, and the digits of lgamma's logarithms run out far out in the tail.
    k = round(where * n)
    mass = float(stats.binom.pmf(k, n, p))
    assert math.isclose(distributions.binomial_pmf(k, n, p), mass, rel_tol=1e-9, abs_tol=1e-15)
    tail = float(stats.binom.sf(k - 1, n, p))
    assert math.isclose(distributions.binomial_tail(k, n, p, 1 - p), tail, rel_tol=1e-9, abs_tol=1e-15)
