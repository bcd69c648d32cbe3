"""The chance of a region of tables (x1, x2) of two independent binomial counts, summed by
the region's stretches of second counts (``score_size`` and ``unconditional`` weigh theirs so).
numpy is imported here, and this module only where an unpaired comparison needs it.

See docs/explanation/statistics.md, "A region's chance by stretches".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Stretches:
    """A region's runs, as the ends that bound them: each end at ``rows`` (x1) and
    ``columns`` (the x2 a run starts at, or stops before) counts ``signs`` (-1 at a start,
    +1 at a stop) times P(X2 < column)."""

    rows: NDArray[np.intp]
    columns: NDArray[np.intp]
    signs: Array


def stretches(region: NDArray[np.bool_]) -> Stretches:
    """The runs of ``region`` (tables [x1, x2]) along x2."""
    padded = np.zeros((region.shape[0], region.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = region
    edges = np.diff(padded, axis=1)
    rows, columns = np.nonzero(edges)
    return Stretches(rows, columns, -edges[rows, columns].astype(float))


def chance(runs: Stretches, first: Array, below: Array) -> Array:
    """The region's chance at each rate: ``first`` [rate, x1] the first count's probabilities,
    ``below`` [rate, end] P(X2 < column) at the runs' ends, one for each of ``runs.columns``."""
    found: Array = (first[:, runs.rows] * below * runs.signs).sum(axis=1)
    return found


def below(pmf: Array) -> Array:
    """P(X < k) for k from 0 to n + 1 (indexed [..., k]) from the probabilities of 0 to n."""
    cumulative = np.zeros((*pmf.shape[:-1], pmf.shape[-1] + 1))
    cumulative[..., 1:] = np.cumsum(pmf, axis=-1)
    return cumulative
