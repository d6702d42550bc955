"""Canonical JSON is pinned byte for byte: every audit event's hash and every content hash in a signature
depends on it, so a change of encoder, of key order or of number formatting would make an intact log fail its
check. These vectors are where it differs from RFC 8785 (key order by code point, not UTF-16 unit; Python's
float text) as well as where both agree."""

import datetime as dt
import decimal

import pytest

from governance.kernel.canonical import canonical_json, content_hash

VALUE = {
    "b": 1.0, "a": [1e16, 0.1, -0.0, 10**20], "é": 'ü\n"\\', "z": None,
    "t": dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "d": decimal.Decimal("1.10"),
    "s": {3, 1, 2}, "\U0001F600": "x", "\uff01": "y",
}
TEXT = ('{"a":[1e+16,0.1,-0.0,100000000000000000000],"b":1.0,"d":"1.10","s":[1,2,3],"t":"2026-05-01T10:00:00+00:00",'
        '"z":null,"é":"ü\\n\\"\\\\","！":"y","😀":"x"}')


def test_the_encoding_is_pinned():
    assert canonical_json(VALUE) == TEXT
    assert content_hash(VALUE) == "444a3a90a974126e4e4fd4cfda909cf6240c242fa615bc2ca38ba650c0a2833d"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [1, {"b": float("-inf")}]}])
def test_nan_and_infinity_are_refused(value):
    with pytest.raises(ValueError):
        canonical_json(value)


def test_unknown_types_are_refused():
    with pytest.raises(TypeError):
        canonical_json({"a": object()})
