"""The bootstrap's percentile intervals are numpy's ``nanpercentile`` exactly, whether a column is complete
(found by partition) or has undefined resamples (found by sorting), at any confidence."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from governance.stats.fairness import _percentile_interval, _row_summary

values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan), st.sampled_from([0.0, 0.5, 1.0]))


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 60), st.integers(1, 6)), elements=values),
       st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.9875, 0.999]))
def test_interval_is_numpys_nanpercentile(samples, confidence):
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        expected = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    assert np.array_equal(_percentile_interval(samples, confidence), expected, equal_nan=True)


def test_empty_inputs_give_nan():
    assert _percentile_interval(np.empty((0, 3)), 0.95).shape == (2, 3)
    assert np.isnan(_percentile_interval(np.empty((0, 3)), 0.95)).all()


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 80), elements=values),
       st.lists(st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.9875, 0.999, 1.0]), min_size=1, max_size=4))
def test_a_row_at_several_levels_is_numpys_nanpercentile_and_nanstd(row, confidences):
    """One row of resamples summarised at several levels at once (a gap with one level per family): the
    order statistics of every level come from the same partitioned copy, and must still be numpy's."""
    bounds, std = _row_summary(row, confidences)
    tails = [(1 - c) / 2 * 100 for c in confidences]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row
        expected = np.nanpercentile(row, [[t for t in tails], [100 - t for t in tails]])
        spread = np.nanstd(row) if np.count_nonzero(~np.isnan(row)) >= 2 else np.nan
    assert np.array_equal(bounds, expected, equal_nan=True)
    assert np.isnan(std) if np.isnan(spread) else std == pytest.approx(spread, rel=1e-9, abs=1e-9)
