"""Family-wise interval helpers shared by the fairness and score checks (pure NumPy)."""

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
