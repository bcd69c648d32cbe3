"""The few distribution functions the tests need, from scipy.special, which scipy.stats
computes them with. Imported where a test runs: scipy.stats itself costs 0.5 s to import."""

from __future__ import annotations

from typing import Any


def chi2_sf(dof: int, statistic: float) -> float:
    """The chi-square distribution's upper tail."""
    from scipy.special import chdtrc

    return float(chdtrc(dof, statistic))


def normal_quantile(confidence: float) -> float:
    """The normal quantile of a two-sided interval of this confidence."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2))


def log_choose(n: Any, k: Any) -> Any:
    """log(n choose k), elementwise over numbers or numpy arrays."""
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def normal_cdf(x: float) -> float:
    from scipy.special import ndtr

    return float(ndtr(x))


def t_cdf(dof: float, x: float) -> float:
    """Student's t distribution's lower tail."""
    from scipy.special import stdtr

    return float(stdtr(dof, x))


def t_quantile(dof: float, confidence: float) -> float:
    """Student's t quantile of a two-sided interval of this confidence."""
    from scipy.special import stdtrit

    return float(stdtrit(dof, 0.5 + confidence / 2))
