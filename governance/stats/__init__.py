"""Statistics engine: pure functions over NumPy arrays and plain dicts (no Django, no ORM).

Fairness of decisions across groups with bootstrap intervals (``fairness``), feature drift
against a baseline (``drift``), and the CSV readers for both (``csvparse``).
"""

from .csvparse import Predictions, StatsInputError, parse_feature_table, parse_predictions
from .drift import drift_report, psi, psi_categorical, psi_numeric
from .fairness import cell_counts, fairness_report

__all__ = [
    "Predictions",
    "StatsInputError",
    "cell_counts",
    "drift_report",
    "fairness_report",
    "parse_feature_table",
    "parse_predictions",
    "psi",
    "psi_categorical",
    "psi_numeric",
]
