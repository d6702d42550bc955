"""The bootstrap's percentile intervals are numpy's ``nanpercentile`` exactly, whether a column is complete
(found by partition) or has undefined resamples (found by sorting), at any confidence."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from governance.stats.fairness import _percentile_interval

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
