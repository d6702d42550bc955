"""Reading uploaded CSV files (model predictions, feature tables) into NumPy arrays.

Apache Arrow's CSV reader does the parsing (``pyarrow.csv.open_csv``, streaming: memory is one
batch plus the typed output, never the whole file as Python objects). Each column is read with
the type it must have — the group columns dictionary-encoded, decisions and labels as int8,
scores as float64 — so the common case is a single pass with no per-row Python.

When Arrow refuses something, or a value is out of range, the file is read again with the
stdlib ``csv`` module and checked row by row to name the column, the first offending row and
its line in the file. That second pass runs only on bad input.

Missing values are the tokens pandas treats as missing by default (``NA``, ``null``, ``None``,
``NaN``, ``#N/A``, the empty field, ...). They are never read as numbers, categories or group
names.

Row numbers in messages count data rows from 1 (the header is not a row); the file line is given
too, which is what a spreadsheet or editor shows.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.csv as pacsv

__all__ = [
    "MISSING_TOKENS",
    "Predictions",
    "StatsInputError",
    "metric_key",
    "parse_predictions",
    "parse_feature_table",
]

# pandas' default ``na_values`` (pandas 2.x ``STR_NA_VALUES``) plus the empty field.
MISSING_TOKENS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_MISSING = frozenset(MISSING_TOKENS)
_BLOCK_SIZE = 1 << 20  # bytes per Arrow batch: the memory bound of the streaming read
_HEAD_LIMIT = 1 << 20  # the header line must fit in the first MB


class StatsInputError(ValueError):
    """Input the statistics engine cannot use; ``message`` is shown to the user next to ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Attribute:
    """One protected-attribute column: its name, its sorted values and each row's code."""

    name: str
    values: tuple[str, ...]
    codes: np.ndarray


@dataclass(frozen=True)
class Predictions:
    """One model's decisions on a set of rows, with the group each row belongs to.

    ``group`` holds integer codes into ``group_names`` (sorted). Decisions and labels are 0/1 int8.
    ``attributes`` holds every protected-attribute column read (the ``group`` column, when there
    is one, comes first); ``group``/``group_names`` are the first of them.
    """

    group_names: tuple[str, ...]
    group: np.ndarray
    y_pred: np.ndarray
    y_true: np.ndarray | None = None
    y_pred_champion: np.ndarray | None = None
    score: np.ndarray | None = None
    attributes: tuple[Attribute, ...] = field(default=())

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
# Sources: bytes in memory, or a path on disk (the bench; large files never held in memory)


class _Source:
    def __init__(self, data, what: str):
        self.what = what
        if isinstance(data, str | os.PathLike):
            self.path, self.data = os.fspath(data), None
            with open(self.path, "rb") as f:
                self.head = f.read(_HEAD_LIMIT)
        elif isinstance(data, bytes | bytearray | memoryview):
            self.path, self.data = None, bytes(data)
            self.head = self.data[:_HEAD_LIMIT]
            if b"\x00" in self.data:
                raise StatsInputError("file", f"the {what} contains NUL bytes; it does not look like a CSV file")
        else:
            raise StatsInputError("file", f"the {what} must be uploaded as a file")

    def stream(self):
        return pa.BufferReader(self.data) if self.data is not None else pa.OSFile(self.path, "rb")

    def text(self) -> str:
        raw = self.data if self.data is not None else open(self.path, "rb").read()  # noqa: SIM115
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StatsInputError(
                "file",
                f"the {self.what} is not UTF-8 text (first invalid byte at offset {exc.start}); save it as UTF-8 CSV",
            ) from None
        return text.removeprefix("\ufeff")


def _header(src: _Source, max_columns: int) -> list[str]:
    head = src.head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head:
        raise StatsInputError("file", f"the {src.what} contains NUL bytes; it does not look like a CSV file")
    if len(src.head) == _HEAD_LIMIT and not re.search(rb"[\r\n]", head):
        raise StatsInputError("file", f"the header of the {src.what} is longer than 1 MB")
    text = head.decode("utf-8", errors="replace")
    first = next(csv.reader(io.StringIO(text, newline="")), [])
    header = [name.strip() for name in first]
    if not any(header):
        raise StatsInputError("file", f"the {src.what} has no rows")
    if "\ufffd" in "".join(header):
        raise StatsInputError("file", f"the header of the {src.what} is not UTF-8 text; save it as UTF-8 CSV")
    if len(header) > max_columns:
        raise StatsInputError("file", f"the {src.what} has {len(header)} columns; the limit is {max_columns}")
    seen: set[str] = set()
    for pos, name in enumerate(header, start=1):
        if not name:
            raise StatsInputError("header", f"column {pos} of the {src.what} has no name in the header")
        if name in seen:
            raise StatsInputError(name, f"the column '{name}' appears more than once in the header")
        seen.add(name)
    return header


class _Refused(Exception):
    """Arrow found a problem; the slow pass (``_diagnose``) says which, where."""


def _stream(src: _Source, header: list[str], types: dict[str, pa.DataType], *, max_rows: int):
    """Yield record batches of the columns in ``types``; raise ``_Refused`` on any parse problem."""
    rows = 0
    try:
        reader = pacsv.open_csv(
            src.stream(),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                null_values=list(MISSING_TOKENS),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        for batch in reader:
            rows += batch.num_rows
            if rows > max_rows:
                raise StatsInputError(
                    "file", f"the {src.what} has more than {max_rows:,} rows; the limit is {max_rows:,}"
                )
            yield batch
    except (pa.ArrowInvalid, _Refused):
        raise _Refused from None
    if rows == 0:
        raise StatsInputError("file", f"the {src.what} has no rows")


# --------------------------------------------------------------------------------------------
# The slow pass: the stdlib csv module, row by row, for exact messages about bad input


@dataclass
class _Rows:
    lines: list[int]  # file line of each data row
    values: dict[str, list[str]]

    def where(self, i: int) -> str:
        return f"row {i + 1} (line {self.lines[i]} of the file)"


def _read_rows(src: _Source, header: list[str], wanted: list[str]) -> _Rows:
    ncols = len(header)
    index = [header.index(name) for name in wanted]
    reader = csv.reader(io.StringIO(src.text(), newline=""))
    lines: list[int] = []
    values: dict[str, list[str]] = {name: [] for name in wanted}
    line = 1
    try:
        next(reader, None)  # header
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != ncols:
                raise StatsInputError(
                    "file", f"line {start} of the {src.what} has {len(row)} fields; the header has {ncols}"
                )
            lines.append(start)
            for name, c in zip(wanted, index, strict=True):
                values[name].append(row[c])
    except csv.Error as exc:
        raise StatsInputError("file", f"the {src.what} is not valid CSV near line {line}: {exc}") from None
    return _Rows(lines, values)


def _check_binary(rows: _Rows, name: str) -> None:
    for i, v in enumerate(rows.values[name]):
        if v not in ("0", "1"):
            raise StatsInputError(name, f"{name} must be 0 or 1, but {rows.where(i)} has {v!r}")


def _check_finite(rows: _Rows, name: str) -> None:
    for i, v in enumerate(rows.values[name]):
        if not v.strip():
            raise StatsInputError(name, f"{name} is empty in {rows.where(i)}")
        if v in _MISSING:
            raise StatsInputError(
                name, f"{name} has {v!r}, a missing value, not a finite number, in {rows.where(i)}"
            )
        try:
            ok = np.isfinite(float(v))
        except ValueError:
            ok = False
        if not ok:
            raise StatsInputError(name, f"{name} has {v!r}, which is not a finite number, in {rows.where(i)}")


def _check_group(rows: _Rows, name: str) -> None:
    stripped: dict[str, tuple[str, int]] = {}
    for i, v in enumerate(rows.values[name]):
        if v in _MISSING or not v.strip():
            if v.strip():
                raise StatsInputError(
                    name,
                    f"the {name} is missing in {rows.where(i)} ({v!r} is read as a missing value); "
                    "give every row a real value",
                )
            raise StatsInputError(name, f"the {name} is empty in {rows.where(i)}")
        other = stripped.setdefault(v.strip(), (v, i))
        if other[0] != v:
            raise StatsInputError(
                name,
                f"the {name} values {other[0]!r} in {rows.where(other[1])} and {v!r} in {rows.where(i)} "
                "differ only by surrounding spaces; make them the same or clearly different",
            )


def _diagnose(src: _Source, header: list[str], checks: list[tuple[str, str]]) -> StatsInputError:
    """Find the first problem Arrow tripped on, with its row and line; checks are (column, kind)."""
    rows = _read_rows(src, header, [name for name, _ in checks])
    if not rows.lines:
        return StatsInputError("file", f"the {src.what} has no rows")
    check = {"group": _check_group, "binary": _check_binary, "finite": _check_finite}
    try:
        for name, kind in checks:
            check[kind](rows, name)
    except StatsInputError as error:
        return error
    return StatsInputError("file", f"the {src.what} could not be read as CSV")


# --------------------------------------------------------------------------------------------
# Predictions

_DICT = pa.dictionary(pa.int32(), pa.string())
_OUTCOME_COLUMNS = ("y_pred", "y_true", "y_pred_champion")


class _Groups:
    """Global codes for a dictionary-encoded column read batch by batch (each batch has its own
    dictionary; the distinct values are few, so mapping them is cheap)."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, column: pa.ChunkedArray | pa.DictionaryArray, max_groups: int, name: str) -> None:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        for chunk in chunks:
            if chunk.null_count:
                raise _Refused
            lookup = np.array(
                [self.index.setdefault(v, len(self.index)) for v in chunk.dictionary.to_pylist()],
                dtype=np.int32,
            )
            if len(self.index) > max_groups:
                self.parts.clear()  # over the limit: only the count of distinct values is wanted now
                continue
            indices = chunk.indices.to_numpy(zero_copy_only=False)
            self.parts.append(lookup[indices] if lookup.size else indices.astype(np.int32))

    def finish(self, max_groups: int, name: str) -> tuple[tuple[str, ...], np.ndarray]:
        if len(self.index) > max_groups:
            raise StatsInputError(
                name,
                f"the {name} column has more than {max_groups:,} distinct values ({len(self.index):,}); "
                f"the limit is {max_groups:,} — is it the right column?",
            )
        raw = list(self.index)
        if any(not v.strip() or v.strip() != v for v in raw):
            stripped = [v.strip() for v in raw]
            if "" in stripped or len(set(stripped)) < len(stripped):
                raise _Refused  # empty, or two values differing only by spaces: named by the slow pass
            raw = stripped
        names = tuple(sorted(raw))
        position = {v: i for i, v in enumerate(names)}
        remap = np.array([position[v] for v in raw], dtype=np.int32)
        codes = np.concatenate(self.parts) if self.parts else np.empty(0, dtype=np.int32)
        return names, remap[codes] if remap.size else codes


def parse_predictions(
    data, *, max_groups: int = 1000, max_rows: int = 5_000_000, attributes=()
) -> Predictions:
    """Parse a predictions CSV: ``y_pred`` and at least one group column required; ``y_true``,
    ``y_pred_champion`` and ``score`` optional; other columns ignored, order free.

    Group columns are ``group`` and any of ``attributes`` (protected-attribute column names, for
    instance ``("sex", "age_band")``) found in the header. ``data`` is the file's bytes or a path.
    Group values are compared exactly; values differing only by surrounding spaces, empty values
    and missing-value tokens are refused. Raises ``StatsInputError`` naming the column and, for
    bad values, the first offending row.
    """
    what = "predictions file"
    src = _Source(data, what)
    header = _header(src, 10_000)
    group_columns = [c for c in ("group", *attributes) if c in header]
    group_columns = list(dict.fromkeys(group_columns))
    if not group_columns:
        found = ", ".join(header)
        raise StatsInputError("group", f"the {what} has no 'group' column (found: {found})")
    if "y_pred" not in header:
        found = ", ".join(header)
        raise StatsInputError("y_pred", f"the {what} has no 'y_pred' column (found: {found})")
    types: dict[str, pa.DataType] = {c: _DICT for c in group_columns}
    types |= {c: pa.int8() for c in _OUTCOME_COLUMNS if c in header}
    if "score" in header:
        types["score"] = pa.float64()
    checks = [(c, "group") for c in group_columns]
    checks += [(c, "binary") for c in _OUTCOME_COLUMNS if c in header]
    checks += [("score", "finite")] if "score" in header else []

    groups = {c: _Groups() for c in group_columns}
    parts: dict[str, list[np.ndarray]] = {c: [] for c in types if c not in groups}
    try:
        for batch in _stream(src, header, types, max_rows=max_rows):
            for c in group_columns:
                groups[c].add(batch.column(c), max_groups, c)
            for c, out in parts.items():
                column = batch.column(c)
                if column.null_count:
                    raise _Refused
                values = column.to_numpy(zero_copy_only=False)
                if c == "score":
                    if not np.isfinite(values).all():
                        raise _Refused
                elif not ((values == 0) | (values == 1)).all():
                    raise _Refused
                out.append(values)
        attrs = tuple(Attribute(c, *groups[c].finish(max_groups, c)) for c in group_columns)
    except _Refused:
        raise _diagnose(src, header, checks) from None

    def joined(c):
        return np.concatenate(parts[c]) if c in parts else None

    return Predictions(
        group_names=attrs[0].values,
        group=attrs[0].codes,
        y_pred=joined("y_pred"),
        y_true=joined("y_true"),
        y_pred_champion=joined("y_pred_champion"),
        score=joined("score"),
        attributes=attrs,
    )


# --------------------------------------------------------------------------------------------
# Feature tables

_NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_null)


def parse_feature_table(data, *, max_rows: int = 5_000_000, max_columns: int = 500) -> dict[str, np.ndarray | list]:
    """Parse a feature table (header = feature names) for drift checks.

    A column whose present values all parse as numbers is numeric: a float64 array with NaN for
    missing values. Any other column is categorical: a list of str with None for missing values.
    Missing values are the empty field and the tokens pandas reads as missing (``NA``, ``null``,
    ``None``, ...), so a numeric feature with gaps stays numeric.
    """
    what = "feature table"
    src = _Source(data, what)
    header = _header(src, max_columns)
    # Arrow infers each column's type from the first batch; a later batch can disagree (text in a
    # column that began with numbers), so such a column is re-read as text.
    types = {name: pa.float64() for name in header}
    try:
        first = next(_stream(src, header, {name: pa.string() for name in header}, max_rows=max_rows))
    except _Refused:
        raise _diagnose(src, header, []) from None
    for name in header:
        try:
            pa.compute.cast(first.column(name).drop_null(), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            types[name] = pa.string()
    while True:
        parts: dict[str, list] = {name: [] for name in header}
        try:
            for batch in _stream(src, header, types, max_rows=max_rows):
                for name in header:
                    parts[name].append(batch.column(name))
            break
        except _Refused:
            retyped = _first_non_numeric(src, header, types)
            if retyped is None:
                raise _diagnose(src, header, []) from None
            types[retyped] = pa.string()
    out: dict[str, np.ndarray | list] = {}
    for name in header:
        column = pa.chunked_array(parts[name], type=types[name])
        if types[name] == pa.float64():
            out[name] = column.to_numpy().astype(np.float64, copy=False)
        else:
            out[name] = column.to_pylist()
    return out


def _first_non_numeric(src: _Source, header: list[str], types: dict) -> str | None:
    """The first column read as numbers that holds text somewhere (found with the slow pass)."""
    numeric = [name for name in header if types[name] == pa.float64()]
    rows = _read_rows(src, header, numeric)
    for name in numeric:
        for v in rows.values[name]:
            if v in _MISSING:
                continue
            try:
                float(v)
            except ValueError:
                return name
    return None
