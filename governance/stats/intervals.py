"""Interval helpers shared by the fairness and score checks (pure NumPy): family-wise levels, folded gaps,
and NumPy's linear quantile method step by step (for quantiles read off partitioned or sorted data)."""

import numpy as np
import numpy.typing as npt


def sidak(confidence: float, comparisons: int) -> float:
    """Per-comparison confidence that gives ``confidence`` jointly over ``comparisons`` intervals
    (Šidák: exact for independent estimates, conservative for the two-sided intervals of jointly
    normal ones, as Šidák's inequality shows)."""
    return float(confidence ** (1.0 / max(int(comparisons), 1)))


def _abs_interval(
    low: npt.ArrayLike, high: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Interval of |d| from an interval of the signed d: not folded at zero, so a true gap of 0
    is covered whenever the signed interval covers it."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return (
        np.where(low >= 0, low, np.where(high <= 0, -high, 0.0)),
        np.where(low >= 0, high, np.where(high <= 0, -low, np.maximum(-low, high))),
    )


def order_statistics(n: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy's linear method: for quantiles ``q`` of ``n`` values (broadcast together), the indices of the
    neighbouring order statistics and the fraction between them."""
    virtual = (n - 1) * q
    below = np.floor(virtual)
    gamma = virtual - below
    low = below.astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    return low, high, gamma


def interpolate(low: np.ndarray, high: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """NumPy's interpolation between neighbouring order statistics (its formula, for equal results)."""
    diff = high - low
    result: np.ndarray = np.where(gamma >= 0.5, high - diff * (1 - gamma), low + diff * gamma)
    return result
