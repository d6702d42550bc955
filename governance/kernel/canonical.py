"""Canonical JSON and hashing: one definition for the audit chain, content hashes and receipts."""

import datetime as dt
import decimal
import hashlib
import json
import uuid
from typing import Any


def _default(value: object) -> object:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not canonical-JSON serialisable")


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 text, datetimes as UTC ISO-8601; NaN and infinity are refused.

    The encoder refuses them itself (``allow_nan=False``, in C): the audit check canonicalises every stored
    event, and a walk of each value in Python to look for them first cost more than the encoding."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default,
                          allow_nan=False)
    except ValueError as error:
        if "Out of range float" in str(error):
            raise ValueError("canonical JSON refuses NaN and infinity") from None
        raise


def to_plain(value: object) -> Any:
    """The JSON value ``value`` becomes once stored and read back, so hashes survive a round trip."""
    return json.loads(canonical_json(value))


def sha256_hex(text: str | bytes) -> str:
    if isinstance(text, str):
        text = text.encode("utf-8")
    return hashlib.sha256(text).hexdigest()


def content_hash(value: object) -> str:
    return sha256_hex(canonical_json(value))
