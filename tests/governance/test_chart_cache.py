"""Charts are drawn once per distinct input: a page viewed again reuses the SVG, new data draws a new one, and a
chart keeps the same SVG whether it came from the cache or was drawn."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from governance.kernel.charts import cached_chart
from readiness.charts import sparkline

START = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_same_input_is_drawn_once_and_new_input_again():
    drawn = []

    @cached_chart
    def chart(points, *, title=""):
        drawn.append(points)
        return f"<svg>{len(points)} {title}</svg>"

    points = [(START + timedelta(hours=i), 0.9) for i in range(3)]
    assert chart(points, title="a") == chart(points, title="a") == "<svg>3 a</svg>"
    assert len(drawn) == 1
    chart(points + [(START + timedelta(hours=3), 0.2)], title="a")
    chart(points, title="b")
    assert len(drawn) == 3


def test_input_that_is_not_plain_data_is_drawn_every_time():
    drawn = []

    @cached_chart
    def chart(thing):
        drawn.append(thing)
        return "<svg/>"

    chart(object())
    chart(object())
    assert len(drawn) == 2


def test_a_cached_sparkline_is_the_drawn_one():
    points = [(START + timedelta(hours=i), 0.8 + i / 100) for i in range(24)]
    first = sparkline(points, threshold=0.82, comparator=">=")
    assert first.startswith("<svg")
    assert sparkline(points, threshold=0.82, comparator=">=") == first
    assert sparkline.uncached(points, threshold=0.82, comparator=">=") == first
    assert sparkline(points, threshold=0.9, comparator=">=") != first
