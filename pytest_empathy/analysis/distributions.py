"""The few distribution functions the tests need, in plain Python (importing scipy.special
for them would cost a replay about a tenth of its time); tests/test_distributions.py checks
each against scipy.

See docs/explanation/statistics.md, "Distribution functions in plain Python".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

_NORMAL = NormalDist()
_EPSILON = 1e-15
_TINY = 1e-300
_ITERATIONS = 10_000


def chi2_sf(dof: int, statistic: float) -> float:
    """The chi-square distribution's upper tail."""
    return _gamma_q(dof / 2, statistic / 2)


def normal_quantile(confidence: float) -> float:
    """The normal quantile of a two-sided interval of this confidence."""
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def normal_cdf(x: float) -> float:
    # erfc keeps the lower tail's relative precision, which 1 + erf would lose.
    return 0.5 * math.erfc(-x / math.sqrt(2))


def t_cdf(dof: float, x: float) -> float:
    """Student's t distribution's lower tail."""
    if math.isinf(dof):
        return normal_cdf(x)
    tail = _t_upper(dof, abs(x))
    return tail if x < 0 else 1.0 - tail


@cache  # every group of a clustered run asks for the same one, and Newton's method is not free
def t_quantile(dof: float, confidence: float) -> float:
    """Student's t quantile of a two-sided interval of this confidence."""
    tail = (1 - confidence) / 2  # the upper tail beyond the quantile
    if math.isinf(dof):
        return normal_quantile(confidence)
    # Newton's method on the upper tail from the normal quantile, kept inside a bracket that
    # bisection narrows whenever a step would leave it.
    low, high = 0.0, 1.0
    while _t_upper(dof, high) > tail:
        low, high = high, 2 * high
    x = min(max(normal_quantile(confidence), low), high)
    for _ in range(200):
        excess = _t_upper(dof, x) - tail
        if excess == 0:
            break
        if excess > 0:
            low = x
        else:
            high = x
        moved = x + excess / _t_density(dof, x)
        if not low < moved < high:
            moved = (low + high) / 2
        if abs(moved - x) <= 4e-16 * max(1.0, x):
            return moved
        x = moved
    return x


@dataclass(frozen=True)
class Reference:
    """The distribution a statistic is referred to: Student's t on ``dof`` degrees of freedom,
    or the normal (``dof`` None). Its p-values and the critical values its intervals invert
    come from it alike, so that a test and its interval agree."""

    dof: float | None = None

    def critical(self, confidence: float) -> float:
        """The quantile of a two-sided interval of this confidence."""
        return normal_quantile(confidence) if self.dof is None else t_quantile(self.dof, confidence)

    def lower(self, x: float) -> float:
        """P(X <= x)."""
        return normal_cdf(x) if self.dof is None else t_cdf(self.dof, x)

    def upper(self, x: float) -> float:
        """P(X >= x)."""
        return self.lower(-x)

    @property
    def name(self) -> str:
        return "normal" if self.dof is None else f"Student's t, {self.dof:g} dof"


NORMAL = Reference()


def binomial_pmf(k: int, n: int, p: float) -> float:
    """P(X = k) for X binomial with ``n`` trials of probability ``p``."""
    if p <= 0 or p >= 1:
        return float(k == (0 if p <= 0 else n))
    table = log_factorials(n)
    return math.exp(table[n] - table[k] - table[n - k] + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_tail(k: float, n: float, p: float, q: float) -> float:
    """P(X >= k) for X binomial with ``n`` trials of probability ``p``, and ``q`` = 1 - p
    given as itself: the incomplete beta function I_p(k, n - k + 1), which extends it to a
    count between whole ones (an even split of an odd number)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return _beta_i(k, n - k + 1, p, q)


@overload
def log_choose(n: int, k: int) -> float: ...
@overload
def log_choose(n: ArrayLike, k: NDArray[np.intp]) -> NDArray[np.float64]: ...
def log_choose(n: ArrayLike, k: ArrayLike) -> NDArray[np.float64] | float:
    """log(n choose k), elementwise over whole numbers or numpy arrays of them."""
    import numpy as np

    n_values, k_values = np.asarray(n, dtype=np.int64), np.asarray(k, dtype=np.int64)
    if (k_values < 0).any() or (n_values - k_values < 0).any():
        raise ValueError("log_choose needs 0 <= k <= n")
    table = np.asarray(log_factorials(int(max(n_values.max(initial=0), k_values.max(initial=0)))))
    found = table[n_values] - table[k_values] - table[n_values - k_values]
    return found if found.ndim else float(found)


def log_factorials(top: int) -> tuple[float, ...]:
    """log(i!) for i from 0 to at least ``top``."""
    # Rounded up to a power of two, so that one table serves many calls.
    return _log_factorials(1 << max(top, 1).bit_length())


@cache
def _log_factorials(size: int) -> tuple[float, ...]:
    return tuple(math.lgamma(i + 1) for i in range(size + 1))


def _t_upper(dof: float, x: float) -> float:
    """P(T > x): half of P(|T| > |x|) = I_z(dof / 2, 1 / 2), z = dof / (dof + x^2), and 1 - z
    given as itself, which subtracting would lose for small x."""
    if x < 0:
        return 1.0 - _t_upper(dof, -x)
    return 0.5 * _beta_i(dof / 2, 0.5, dof / (dof + x * x), x * x / (dof + x * x))


def _t_density(dof: float, x: float) -> float:
    log_norm = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    return math.exp(log_norm - (dof + 1) / 2 * math.log1p(x * x / dof))


def _gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    if x < a + 1:
        return 1.0 - _gamma_p_series(a, x)
    return _gamma_q_fraction(a, x)


def _gamma_p_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPSILON:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_fraction(a: float, x: float) -> float:
    b = x + 1 - a
    c, d = 1 / _TINY, 1 / b
    h = d
    for i in range(1, _ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPSILON:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def _beta_i(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta function I_x(a, b), with y = 1 - x."""
    if x <= 0:
        return 0.0
    if y <= 0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, _ITERATIONS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPSILON:
            break
    return h
