"""Reading uploaded CSV files (model predictions, feature tables) into NumPy arrays.

Uploads can hold millions of rows, so the common case is parsed with NumPy straight from the
bytes: find every comma and newline once, then read each field from its offsets. Files that need
real CSV handling (a quote character in the body) or that are irregular (blank lines, ragged
rows) go through the stdlib ``csv`` module instead, which is slower but exact and gives the line
numbers for error messages. Both paths produce the same ``_Column`` representation, so every
check and conversion below is written once.

Row numbers in messages count data rows from 1 (the header is not a row); the file line is given
too, which is what a spreadsheet or editor shows.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Predictions",
    "StatsInputError",
    "metric_key",
    "parse_predictions",
    "parse_feature_table",
]


class StatsInputError(ValueError):
    """Input the statistics engine cannot use; ``message`` is shown to the user next to ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Predictions:
    """One model's decisions on a set of rows, with the group each row belongs to.

    ``group`` holds integer codes into ``group_names`` (sorted). Decisions and labels are 0/1 int8.
    """

    group_names: tuple[str, ...]
    group: np.ndarray
    y_pred: np.ndarray
    y_true: np.ndarray | None = None
    y_pred_champion: np.ndarray | None = None
    score: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.group.shape[0])


_NON_KEY = re.compile(r"[^a-z0-9_]")


def metric_key(name: str) -> str:
    """The form of a group or feature name used inside flat metric keys (``tpr.<name>``)."""
    return _NON_KEY.sub("_", name.lower())


def unique_metric_keys(names) -> dict[str, str]:
    """Map each name to a metric key, suffixing ``_2``, ``_3``... when two names collide."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = metric_key(name)
        key, n = base, 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
        taken.add(key)
        keys[name] = key
    return keys


# --------------------------------------------------------------------------------------------
# Tokenising


_PAD = 72  # zero bytes after every buffer, so 8-byte reads of a field of up to 64 bytes stay inside
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass
class _Column:
    """One column's fields as offsets into a byte buffer that ends with ``_PAD`` zero bytes."""

    buf: np.ndarray  # uint8
    starts: np.ndarray  # int64, one per row
    lengths: np.ndarray  # int64, one per row
    lines: np.ndarray | None  # file line of each row; None means row i is on line i + 2

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def text(self, i: int) -> str:
        s = int(self.starts[i])
        return bytes(self.buf[s : s + int(self.lengths[i])]).decode("utf-8")

    def where(self, i: int) -> str:
        line = i + 2 if self.lines is None else int(self.lines[i])
        return f"row {i + 1} (line {line} of the file)"  # rows count from 1 after the header

    def width(self) -> int:
        return max(int(self.lengths.max(initial=0)), 1)

    def words(self, count: int) -> np.ndarray:
        """Fields as (n, count) little-endian uint64 words, zero past each field's end.

        Reading eight bytes at a time through an unaligned strided view of the buffer costs one
        gather per word instead of one per byte; fields must be at most ``8 * count`` bytes.
        """
        as_words = np.ndarray(shape=(self.buf.shape[0] - 7,), dtype="<u8", buffer=self.buf, strides=(1,))
        out = np.empty((len(self), count), dtype=np.uint64)
        for k in range(count):
            word = as_words[self.starts + 8 * k]
            valid = np.clip(self.lengths - 8 * k, 0, 8).astype(np.uint64)
            partial = (np.uint64(1) << (valid * np.uint64(8))) - np.uint64(1)  # wrong only for valid == 8
            word &= np.where(valid == 8, _ALL_ONES, partial)
            out[:, k] = word
        return out

    def fixed(self) -> np.ndarray:
        """Fields as a fixed-width bytes array (dtype ``S<w>``)."""
        width = self.width()
        if width <= 64:
            count = -(-width // 8)
            return self.words(count).view(f"S{8 * count}").ravel()
        # Rare long values: slice one by one rather than build a huge padded matrix.
        raw = self.buf.tobytes()
        return np.array(
            [raw[s : s + n] for s, n in zip(self.starts.tolist(), self.lengths.tolist(), strict=True)],
            dtype=f"S{width}",
        )


@dataclass
class _Table:
    header: list[str]
    columns: dict[str, _Column]
    rows: int


def _decode_check(data: bytes, what: str) -> bytes:
    """Validate UTF-8 (and drop a BOM); return the raw bytes, which are what we parse."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StatsInputError("file", f"the {what} must be uploaded as a file")
    data = bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StatsInputError(
            "file",
            f"the {what} is not UTF-8 text (first invalid byte at offset {exc.start}); save it as UTF-8 CSV",
        ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise StatsInputError("file", f"the {what} contains NUL bytes; it does not look like a CSV file")
    return data


def _read_table(
    data: bytes, *, what: str, wanted: set[str] | None, max_rows: int, max_columns: int
) -> _Table:
    data = _decode_check(data, what)
    data = data.rstrip(b"\r\n")
    head, _, body = data.partition(b"\n")  # a "\r" left before "\n" is dropped when tokenising
    head = head.rstrip(b"\r")
    if not head.strip():
        raise StatsInputError("file", f"the {what} has no rows")
    header = [name.strip() for name in next(csv.reader([head.decode("utf-8")]))]
    if len(header) > max_columns:
        raise StatsInputError("file", f"the {what} has {len(header)} columns; the limit is {max_columns}")
    seen: set[str] = set()
    for pos, name in enumerate(header, start=1):
        if not name:
            raise StatsInputError("header", f"column {pos} of the {what} has no name in the header")
        if name in seen:
            raise StatsInputError(name, f"the column '{name}' appears more than once in the header")
        seen.add(name)
    if not body.strip(b"\n"):
        raise StatsInputError("file", f"the {what} has no rows")
    # Count lines first, so a huge upload is refused before any real work (exact when there are no
    # blank lines; otherwise the count after parsing decides).
    if body.count(b"\n") + 1 > max_rows and b"\n\n" not in body:
        raise StatsInputError(
            "file", f"the {what} has more than {max_rows:,} rows; the limit is {max_rows:,}"
        )
    keep = [i for i, name in enumerate(header) if wanted is None or name in wanted]
    table = None
    if b'"' not in body:
        table = _fast_table(body, header, keep)
    if table is None:
        table = _csv_table(body, header, keep, what=what)
    if table.rows > max_rows:
        raise StatsInputError(
            "file", f"the {what} has more than {max_rows:,} rows; the limit is {max_rows:,}"
        )
    return table


def _fast_table(body: bytes, header: list[str], keep: list[int]) -> _Table | None:
    """Split on every comma and newline with NumPy; None when the file is not perfectly regular."""
    ncols = len(header)
    nrows = body.count(b"\n") + 1
    buf = np.frombuffer(body + b"\n" + bytes(_PAD), dtype=np.uint8)  # the added newline ends the last row
    scan = buf[: len(body) + 1]
    is_nl = scan == 10
    delims = np.flatnonzero(is_nl | (scan == 44))
    if delims.shape[0] != nrows * ncols:
        return None  # ragged rows or blank lines: let the csv module report them precisely
    shape_ok = is_nl[delims].reshape(nrows, ncols)
    if not (shape_ok[:, -1].all() and not shape_ok[:, :-1].any()):
        return None
    starts = np.empty_like(delims)
    starts[0] = 0
    starts[1:] = delims[:-1] + 1
    lengths = delims - starts
    # Windows line endings: the last field of each row ends with "\r"; leave it out of the field.
    row_ends = delims[ncols - 1 :: ncols]
    if b"\r" in body:
        lengths[ncols - 1 :: ncols] -= (buf[np.maximum(row_ends - 1, 0)] == 13) & (
            lengths[ncols - 1 :: ncols] > 0
        )
    columns = {}
    for c in keep:
        columns[header[c]] = _Column(buf, starts[c::ncols], lengths[c::ncols], None)
    return _Table(header, columns, nrows)


def _csv_table(body: bytes, header: list[str], keep: list[int], *, what: str) -> _Table:
    ncols = len(header)
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    values: list[list[str]] = [[] for _ in keep]
    lines: list[int] = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            line = reader.line_num + 1  # +1 for the header line, which is not in ``body``
            if len(row) != ncols:
                raise StatsInputError(
                    "file", f"line {line} of the {what} has {len(row)} fields; the header has {ncols}"
                )
            lines.append(line)
            for slot, c in enumerate(keep):
                values[slot].append(row[c])
    except csv.Error as exc:
        raise StatsInputError(
            "file", f"the {what} is not valid CSV near line {reader.line_num + 1}: {exc}"
        ) from None
    if not lines:
        raise StatsInputError("file", f"the {what} has no rows")
    line_arr = np.asarray(lines, dtype=np.int64)
    columns = {}
    for slot, c in enumerate(keep):
        encoded = [v.encode("utf-8") for v in values[slot]]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        starts = np.zeros_like(lengths)
        np.cumsum(lengths[:-1], out=starts[1:])
        buf = np.frombuffer(b"".join(encoded) + bytes(_PAD), dtype=np.uint8)
        columns[header[c]] = _Column(buf, starts, lengths, line_arr)
    return _Table(header, columns, len(lines))


# --------------------------------------------------------------------------------------------
# Column conversions


def _binary(col: _Column, name: str) -> np.ndarray:
    """A 0/1 column as int8; the first other value is reported with its row."""
    first = col.buf[col.starts]
    good = (col.lengths == 1) & ((first == 48) | (first == 49))
    if not good.all():
        i = int(np.argmin(good))
        raise StatsInputError(name, f"{name} must be 0 or 1, but {col.where(i)} has {col.text(i)!r}")
    return (first - 48).astype(np.int8)


def _floats(col: _Column) -> tuple[np.ndarray, np.ndarray]:
    """Parse as float64; returns (values, ok) where ok is False for fields that are not numbers.

    Empty fields come back as NaN with ok True; callers decide whether empty is allowed.
    """
    fixed = col.fixed()
    empty = col.lengths == 0
    work = fixed.astype(f"S{max(fixed.dtype.itemsize, 3)}")  # room for the b"nan" we write below
    work[empty] = b"nan"
    try:
        return work.astype(np.float64), np.ones(len(col), dtype=bool)
    except ValueError:
        pass
    # Slow path only when something is not a number: find which.
    values = np.full(len(col), np.nan)
    ok = np.ones(len(col), dtype=bool)
    for i, raw in enumerate(work.tolist()):
        try:
            values[i] = float(raw)
        except ValueError:
            ok[i] = False
    return values, ok


def _factorize(col: _Column) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for equal byte strings, plus one row index holding each code's value.

    Values up to 8 bytes are one uint64 word and are factorised exactly. Values up to 64 bytes
    are hashed to one uint64 and the grouping is then verified word for word, falling back to
    ``np.unique`` on the strings on a hash collision (possible only in theory). Longer values go
    straight to ``np.unique``.
    """
    width = col.width()
    if width > 64:
        _, first, codes = np.unique(col.fixed(), return_index=True, return_inverse=True)
        return codes.ravel(), first
    count = -(-width // 8)
    words = col.words(count)
    if count == 1:
        key = words[:, 0]
    else:
        key = np.zeros(len(col), dtype=np.uint64)
        mult = np.uint64(0x9E3779B97F4A7C15)
        for k in range(count):
            key ^= words[:, k]
            key *= mult
            key ^= key >> np.uint64(29)
    # Sorting the distinct keys and searching is faster than np.unique's inverse for few groups.
    distinct = np.unique(key)
    codes = np.searchsorted(distinct, key)
    first = np.empty(distinct.shape[0], dtype=np.int64)
    first[codes] = np.arange(len(col))  # some row holding each value (which one does not matter)
    if count > 1 and not (words == words[first[codes]]).all():
        _, first, codes = np.unique(col.fixed(), return_index=True, return_inverse=True)
        codes = codes.ravel()
    return codes, first


# --------------------------------------------------------------------------------------------
# Public parsers

_PREDICTION_COLUMNS = ("group", "y_pred", "y_true", "y_pred_champion", "score")


def parse_predictions(data: bytes, *, max_groups: int = 1000, max_rows: int = 5_000_000) -> Predictions:
    """Parse a predictions CSV: ``group`` and ``y_pred`` required; ``y_true``,
    ``y_pred_champion`` and ``score`` optional; other columns ignored, order free.

    Group names are stripped of surrounding spaces. Raises ``StatsInputError`` naming the column
    and, for bad values, the first offending row.
    """
    what = "predictions file"
    table = _read_table(
        data, what=what, wanted=set(_PREDICTION_COLUMNS), max_rows=max_rows, max_columns=10_000
    )
    for required in ("group", "y_pred"):
        if required not in table.columns:
            found = ", ".join(table.header)
            raise StatsInputError(required, f"the {what} has no '{required}' column (found: {found})")

    group_col = table.columns["group"]
    codes, first = _factorize(group_col)
    if first.shape[0] > max_groups:
        raise StatsInputError(
            "group",
            f"the group column has more than {max_groups:,} distinct values ({first.shape[0]:,}); "
            f"the limit is {max_groups:,} — is it the right column?",
        )
    raw_names = [group_col.text(int(i)).strip() for i in first]
    empty = [code for code, name in enumerate(raw_names) if not name]
    if empty:
        row = int(np.flatnonzero(np.isin(codes, empty))[0])
        raise StatsInputError("group", f"the group is empty in {group_col.where(row)}")
    # Sorted distinct names; values that differ only by surrounding spaces share a group.
    group_names = tuple(sorted(set(raw_names)))
    position = {name: i for i, name in enumerate(group_names)}
    remap = np.array([position[name] for name in raw_names], dtype=np.int32)
    group = remap[codes]

    y_pred = _binary(table.columns["y_pred"], "y_pred")
    y_true = _binary(table.columns["y_true"], "y_true") if "y_true" in table.columns else None
    champion = (
        _binary(table.columns["y_pred_champion"], "y_pred_champion")
        if "y_pred_champion" in table.columns
        else None
    )
    score = None
    if "score" in table.columns:
        col = table.columns["score"]
        score, ok = _floats(col)
        bad = ~ok | ~np.isfinite(score)
        if bad.any():
            i = int(np.argmax(bad))
            shown = col.text(i)
            problem = "is empty" if not shown.strip() else f"has {shown!r}, which is not a finite number"
            raise StatsInputError("score", f"score {problem} in {col.where(i)}")
    return Predictions(
        group_names=group_names,
        group=group,
        y_pred=y_pred,
        y_true=y_true,
        y_pred_champion=champion,
        score=score,
    )


def parse_feature_table(
    data: bytes, *, max_rows: int = 5_000_000, max_columns: int = 500
) -> dict[str, np.ndarray | list]:
    """Parse a feature table (header = feature names) for drift checks.

    A column whose non-empty values all parse as numbers is numeric: a float64 array with NaN for
    empty fields. Any other column is categorical: a list of str with None for empty fields.
    """
    table = _read_table(data, what="feature table", wanted=None, max_rows=max_rows, max_columns=max_columns)
    out: dict[str, np.ndarray | list] = {}
    for name in table.header:
        col = table.columns[name]
        values, ok = _floats(col)
        if ok.all():
            out[name] = values
        else:
            raw = col.buf.tobytes()
            out[name] = [
                raw[s : s + n].decode("utf-8") if n else None
                for s, n in zip(col.starts.tolist(), col.lengths.tolist(), strict=True)
            ]
    return out
