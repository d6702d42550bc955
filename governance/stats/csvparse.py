"""Reading uploaded CSV files (model predictions, feature tables) into NumPy arrays.

Apache Arrow's CSV reader does the parsing: a file up to ``_WHOLE_FILE_BYTES`` is read whole by
its threaded reader and its batches are converted on every core; a larger one is streamed
(``pyarrow.csv.open_csv``: memory is one batch plus the typed output). Never the whole file as
Python objects. Each column is read with the type it must have — group columns as raw bytes,
encoded per batch and checked once per distinct value, decisions and labels as one byte a field
(exactly "0" or "1", turned into int8 by NumPy), scores as float64 — so the common case has no
per-row Python.

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
import mmap
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.csv as pacsv

from .parallel import map_parallel

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
_HEAD_PEEK = 1 << 16  # read first; the rest of the MB only when the header is not a plain line inside it


class StatsInputError(ValueError):
    """Input the statistics engine cannot use; ``message`` is shown to the user next to ``field``. ``code`` names
    the problem for programs and tests (``no_rows``, ``missing_column``, ``not_binary``, ``ragged_row``, ...);
    ``row`` (1-based data row) and ``line`` (line of the file) locate it when it is in one place."""

    def __init__(self, field: str, message: str, *, code: str, row: int | None = None, line: int | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code
        self.row = row
        self.line = line


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


def unique_metric_keys(names: Iterable[str]) -> dict[str, str]:
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
# Sources: bytes in memory, a path on disk, or a binary file object (large files are never
# held in memory: Arrow reads them a block at a time)


class _Source:
    """Where the CSV comes from: bytes in memory, a path on disk, or a binary file object (an
    upload spooled to a temporary file) that is read in place from its current position."""

    path: str | None
    data: bytes | None
    file: IO[bytes] | None
    start: int

    def __init__(self, data: Any, what: str) -> None:
        self.what = what
        self.path, self.data, self.file, self.start = None, None, None, 0
        if isinstance(data, str | os.PathLike):
            self.path = os.fspath(data)
        elif isinstance(data, bytes | bytearray | memoryview):
            self.data = bytes(data)
            if b"\x00" in self.data:
                raise StatsInputError("file", f"the {what} contains NUL bytes; it does not look like a CSV file", code="nul_bytes")
        elif callable(getattr(data, "temporary_file_path", None)):
            self.path = data.temporary_file_path()  # an upload Django has spooled to disk
        elif callable(getattr(data, "read", None)):
            if _seekable(data):
                self.file, self.start = data, data.tell()
            else:
                self.data = bytes(data.read())
        else:
            raise StatsInputError("file", f"the {what} must be uploaded as a file", code="not_a_file")
        with self._open() as f:
            self.head = f.read(_HEAD_PEEK)
            first_line = re.search(rb"[\r\n]", self.head)
            if len(self.head) == _HEAD_PEEK and (not first_line or b'"' in self.head[: first_line.start()]):
                self.head += f.read(_HEAD_LIMIT - _HEAD_PEEK)  # the header may run on: up to the limit
        self._map: mmap.mmap | None = None
        self.header_lines = 1  # lines of the file the header takes (``_header`` counts them)
        if self.data is not None:
            self.size = len(self.data)
        elif self.path is not None:
            self.size = os.path.getsize(self.path)
        else:
            assert self.file is not None
            self.size = self.file.seek(0, os.SEEK_END) - self.start
            self.file.seek(self.start)

    def _open(self) -> AbstractContextManager[IO[bytes]]:
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.path is not None:
            return open(self.path, "rb")  # noqa: SIM115
        assert self.file is not None
        self.file.seek(self.start)
        return _Borrowed(self.file)

    def stream(self) -> Any:
        if self.data is not None:
            return pa.BufferReader(self.data)
        if self.path is not None and self.whole and self.size:
            return pa.BufferReader(pa.py_buffer(self._mapped()))  # the pages ``holds`` has already brought in
        if self.path is not None:
            return pa.OSFile(self.path, "rb")
        assert self.file is not None
        self.file.seek(self.start)
        return pa.PythonFile(self.file, mode="r")

    @property
    def whole(self) -> bool:
        """Read at once, on every core (else streamed a batch at a time)."""
        return self.size <= _WHOLE_FILE_BYTES

    def holds(self, needle: bytes) -> bool:
        """Whether ``needle`` occurs in the file (a file on disk is searched mapped, not read into memory)."""
        if self.data is not None:
            return self.data.find(needle) >= 0
        if self.path is not None:
            if not self.size:
                return False
            if self.whole:
                return self._mapped().find(needle) >= 0
            with open(self.path, "rb") as disk, mmap.mmap(disk.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return mapped.find(needle) >= 0
        with self._open() as f:
            return f.read().find(needle) >= 0

    def _mapped(self) -> mmap.mmap:
        """A file on disk read at once, mapped once: searched and then parsed from the same pages. The mapping is
        never closed by hand: it lasts while Arrow still holds a view of it."""
        if self._map is None:
            assert self.path is not None
            with open(self.path, "rb") as disk:
                self._map = mmap.mmap(disk.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def text(self) -> str:
        with self._open() as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StatsInputError(
                "file",
                f"the {self.what} is not UTF-8 text (first invalid byte at offset {exc.start}); save it as UTF-8 CSV", code="not_utf8",
            ) from None
        return text.removeprefix("\ufeff")


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable()) if hasattr(f, "seekable") else (f.tell(), True)[1]
    except (OSError, ValueError, AttributeError):
        return False


class _Borrowed:
    """A caller's file object used in a ``with`` block without closing it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f

    def __enter__(self) -> IO[bytes]:
        return self.f

    def __exit__(self, *exc: object) -> Literal[False]:
        return False


def _header(src: _Source, max_columns: int) -> list[str]:
    head = src.head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head:
        raise StatsInputError("file", f"the {src.what} contains NUL bytes; it does not look like a CSV file", code="nul_bytes")
    line_end = re.search(rb"[\r\n]", head)
    if len(src.head) == _HEAD_LIMIT and not line_end:
        raise StatsInputError("file", f"the header of the {src.what} is longer than 1 MB", code="header_too_long")
    if line_end and b'"' not in head[: line_end.start()]:
        head = head[: line_end.start()]  # no quoted line break: the header is the first line, decoded alone
    text = head.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader, [])
    except csv.Error as exc:  # a name past the csv module's field limit (131,072 characters)
        raise StatsInputError("header", f"the header of the {src.what} cannot be read: {exc}", code="bad_header") from None
    header = [name.strip() for name in first]
    src.header_lines = max(reader.line_num, 1)  # a quoted name may hold a line break: Arrow skips lines, not rows
    if not any(header):
        raise StatsInputError("file", f"the {src.what} has no rows", code="no_rows")
    if "\ufffd" in "".join(header):
        raise StatsInputError("file", f"the header of the {src.what} is not UTF-8 text; save it as UTF-8 CSV", code="not_utf8")
    if len(header) > max_columns:
        raise StatsInputError("file", f"the {src.what} has {len(header)} columns; the limit is {max_columns}", code="too_many_columns")
    seen: set[str] = set()
    for pos, name in enumerate(header, start=1):
        if not name:
            raise StatsInputError("header", f"column {pos} of the {src.what} has no name in the header", code="unnamed_column")
        if name in seen:
            raise StatsInputError(name, f"the column '{name}' appears more than once in the header", code="duplicate_column")
        seen.add(name)
    return header


class _Refused(Exception):
    """Arrow found a problem; the slow pass (``_diagnose``) says which, where."""


_WHOLE_FILE_BYTES = 64 << 20  # up to this size a file is read at once, on every core; past it, streamed


def _read(
    src: _Source,
    header: list[str],
    types: dict[str, pa.DataType],
    *,
    max_rows: int,
    missing_as_null: bool = True,
    stream: bool = False,
) -> Iterator[list[Any]]:
    """Yield lists of record batches of the columns in ``types``; raise ``_Refused`` on any parse problem.

    A file up to ``_WHOLE_FILE_BYTES`` is read whole by Arrow's threaded reader, which parses its blocks on every
    core, and comes as one list of every batch (so the caller can convert them on every core too); a larger one
    is streamed a batch at a time, so memory stays one block plus the per-row arrays however large the file is.

    ``missing_as_null``: the missing-value tokens become nulls (feature tables). Without it nothing is null and
    no field is checked against the tokens, which saves Arrow a lookup per field: the predictions reader reads
    group values as raw bytes and checks the few distinct values itself, and a token in a 0/1 or score column
    fails to convert, which the slow pass then names.

    ``stream``: a batch at a time whatever the size, for a caller that looks only at the first."""
    rows = 0
    convert: dict[str, Any] = dict(column_types=types, include_columns=list(types))
    if missing_as_null:
        convert |= dict(null_values=list(MISSING_TOKENS), strings_can_be_null=True, quoted_strings_can_be_null=True)
    else:
        convert |= dict(null_values=[], strings_can_be_null=False, check_utf8=False)
    options = dict(
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=src.header_lines, block_size=_BLOCK_SIZE),
        convert_options=pacsv.ConvertOptions(**convert),
    )
    try:
        parts: Iterable[list[Any]]
        if src.whole and not stream:
            # Arrow cuts the file into blocks at line ends; a newline inside a quoted value must not be taken
            # for one, which costs a slower cutter. A file with no quote character has no such newline, and
            # no quoting at all: Arrow is told so and skips looking for quotes in every field.
            quoted = src.holds(b'"')
            newlines = pacsv.ParseOptions(newlines_in_values=quoted, quote_char='"' if quoted else False)
            parts = [pacsv.read_csv(src.stream(), parse_options=newlines, **options).to_batches()]
        else:
            newlines = pacsv.ParseOptions(newlines_in_values=True)
            parts = ([batch] for batch in pacsv.open_csv(src.stream(), parse_options=newlines, **options))
        for batches in parts:
            batches = [batch for batch in batches if batch.num_rows]
            rows += sum(batch.num_rows for batch in batches)
            if rows > max_rows:
                raise StatsInputError(
                    "file", f"the {src.what} has more than {max_rows:,} rows; the limit is {max_rows:,}",
                    code="too_many_rows",
                )
            if batches:
                yield batches
    except (pa.ArrowInvalid, _Refused):
        raise _Refused from None
    if rows == 0:
        raise StatsInputError("file", f"the {src.what} has no rows", code="no_rows")


# --------------------------------------------------------------------------------------------
# The slow pass: the stdlib csv module, row by row, for exact messages about bad input


@dataclass
class _Rows:
    lines: list[int]  # file line of each data row
    values: dict[str, list[str]]

    def where(self, i: int) -> str:
        return f"row {i + 1} (line {self.lines[i]} of the file)"

    def at(self, i: int) -> dict[str, int]:
        return {"row": i + 1, "line": self.lines[i]}


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
                    "file", f"line {start} of the {src.what} has {len(row)} fields; the header has {ncols}", code="ragged_row", line=start
                )
            lines.append(start)
            for name, c in zip(wanted, index, strict=True):
                values[name].append(row[c])
    except csv.Error as exc:
        raise StatsInputError("file", f"the {src.what} is not valid CSV near line {line}: {exc}", code="invalid_csv", line=line) from None
    return _Rows(lines, values)


def _check_binary(rows: _Rows, name: str) -> None:
    for i, v in enumerate(rows.values[name]):
        if v not in ("0", "1"):
            raise StatsInputError(name, f"{name} must be 0 or 1, but {rows.where(i)} has {v!r}", code="not_binary", **rows.at(i))


def _check_finite(rows: _Rows, name: str) -> None:
    for i, v in enumerate(rows.values[name]):
        if not v.strip():
            raise StatsInputError(name, f"{name} is empty in {rows.where(i)}", code="empty_value", **rows.at(i))
        if v in _MISSING:
            raise StatsInputError(
                name, f"{name} has {v!r}, a missing value, not a finite number, in {rows.where(i)}", code="missing_value", **rows.at(i)
            )
        try:
            ok = np.isfinite(float(v))
        except ValueError:
            ok = False
        if not ok:
            raise StatsInputError(name, f"{name} has {v!r}, which is not a finite number, in {rows.where(i)}", code="not_finite", **rows.at(i))


# Scripts that one language writes together (Japanese: Han with kana; Korean: Hangul with Han).
_SCRIPT_FAMILY = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "HALFWIDTH": "CJK", "IDEOGRAPHIC": "CJK"}
_INVISIBLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


def lookalike_problem(value: str) -> str | None:
    """Why ``value`` could print like another group name, or None.

    ``Black``, ``Вlack`` (a Cyrillic В) and ``Black`` with a zero-width space print alike but are three
    groups; merging them silently would change the figures, so such a value is refused instead: one not in
    Unicode NFKC normal form (compatibility forms, no-break spaces, decomposed accents), one holding an
    invisible character (format or control characters other than a line break, unassigned code points), or one whose letters
    mix scripts (Latin with Cyrillic or Greek, say)."""
    for ch in value:
        if unicodedata.category(ch) in _INVISIBLE and ch not in "\n\r":  # a quoted line break shows
            return f"holds the invisible character U+{ord(ch):04X}"
    if not unicodedata.is_normalized("NFKC", value):
        return f"is not in Unicode NFKC normal form (it prints like {unicodedata.normalize('NFKC', value)!r})"
    scripts = set()
    for ch in value:
        if unicodedata.category(ch).startswith("L"):
            script = unicodedata.name(ch, "UNKNOWN").split()[0]
            scripts.add(_SCRIPT_FAMILY.get(script, script))
    if len(scripts) > 1:
        return f"mixes the scripts {', '.join(sorted(s.title() for s in scripts))}"
    return None


def _check_group(rows: _Rows, name: str) -> None:
    stripped: dict[str, tuple[str, int]] = {}
    for i, v in enumerate(rows.values[name]):
        if v in _MISSING or not v.strip():
            if v.strip():
                raise StatsInputError(
                    name,
                    f"the {name} is missing in {rows.where(i)} ({v!r} is read as a missing value); "
                    "give every row a real value", code="missing_value", **rows.at(i),
                )
            raise StatsInputError(name, f"the {name} is empty in {rows.where(i)}", code="empty_value", **rows.at(i))
        problem = lookalike_problem(v.strip())
        if problem:
            raise StatsInputError(
                name,
                f"the {name} value {v.strip()!r} in {rows.where(i)} {problem}, so it could print like another "
                "value while counting as a different group; write it in one script with visible characters only",
                code="lookalike_value", **rows.at(i),
            )
        other = stripped.setdefault(v.strip(), (v, i))
        if other[0] != v:
            raise StatsInputError(
                name,
                f"the {name} values {other[0]!r} in {rows.where(other[1])} and {v!r} in {rows.where(i)} "
                "differ only by surrounding spaces; make them the same or clearly different", code="ambiguous_spaces", **rows.at(i),
            )


def _diagnose(src: _Source, header: list[str], checks: list[tuple[str, str]]) -> StatsInputError:
    """Find the first problem Arrow tripped on, with its row and line; checks are (column, kind)."""
    rows = _read_rows(src, header, [name for name, _ in checks])
    if not rows.lines:
        return StatsInputError("file", f"the {src.what} has no rows", code="no_rows")
    check = {"group": _check_group, "binary": _check_binary, "finite": _check_finite}
    try:
        for name, kind in checks:
            check[kind](rows, name)
    except StatsInputError as error:
        return error
    return StatsInputError("file", f"the {src.what} could not be read as CSV", code="unreadable_csv")


# --------------------------------------------------------------------------------------------
# Predictions

_OUTCOME_COLUMNS = ("y_pred", "y_true", "y_pred_champion")


def _code_dtype(distinct: int) -> type:
    """The smallest signed integer type for codes 0 .. distinct - 1."""
    for dtype in (np.int8, np.int16, np.int32):
        if distinct <= np.iinfo(dtype).max + 1:
            return dtype
    return np.int64


class _Output:
    """The per-row arrays, written batch by batch into arrays allocated once.

    A whole file's batches come together, so their rows are known. A streamed file sizes the arrays from its
    first batch: Arrow cuts the file into blocks of ``_BLOCK_SIZE`` bytes, so rows per block times blocks in the
    file estimates the rows (with a margin); a later shortfall grows the arrays by a quarter. Nothing is
    concatenated at the end, so the peak is the arrays themselves, not twice them.
    """

    def __init__(self, dtypes: dict[str, type], src: _Source):
        self.dtypes, self.size, self.whole = dtypes, src.size, src.whole
        self.arrays: dict[str, np.ndarray] = {}
        self.rows = 0

    def reserve(self, rows: int) -> None:
        need = self.rows + rows
        capacity = next(iter(self.arrays.values())).shape[0] if self.arrays else 0
        if need <= capacity:
            return
        if not self.arrays:
            blocks = self.size / _BLOCK_SIZE
            capacity = need if self.whole or blocks <= 1 else int(rows * blocks * 1.05) + 1024
        else:
            capacity = max(need, capacity + capacity // 4)
        for name, dtype in self.dtypes.items():
            grown: np.ndarray = np.empty(capacity, dtype=dtype)
            if name in self.arrays:
                grown[: self.rows] = self.arrays[name][: self.rows]
            self.arrays[name] = grown

    def slot(self, name: str, start: int, rows: int) -> np.ndarray:
        return self.arrays[name][start : start + rows]

    def widen(self, name: str, dtype: type) -> None:
        """``name``'s array holds ``dtype`` from now on (the rows written so far are copied over when it grows)."""
        if np.dtype(dtype).itemsize > np.dtype(self.dtypes[name]).itemsize:
            self.dtypes[name] = dtype
            if name in self.arrays:
                self.arrays[name] = self.arrays[name].astype(dtype)

    def finish(self) -> dict[str, np.ndarray]:
        """The arrays cut to the rows read (copied only when the estimate was far too large)."""
        out = {}
        for name, array in self.arrays.items():
            used = array[: self.rows]
            out[name] = used.copy() if array.shape[0] > self.rows * 1.25 + 1024 else used
        return out


class _Groups:
    """Codes for a group column read as raw bytes, batch by batch: each batch's rows are looked up among a few
    distinct values (or the batch is dictionary-encoded on its own), and the distinct values are merged here.
    Values are checked once each, not once a row: UTF-8, not empty, not a missing-value token, no two differing
    only by surrounding spaces."""

    def __init__(self, max_groups: int):
        self.index: dict[bytes, int] = {}
        self.max_groups = max_groups

    def codes(self, values: list[bytes]) -> np.ndarray | None:
        """The code of each of ``values`` (a batch's distinct values), as the smallest integer type that holds
        every code so far; None past ``max_groups`` (only the count is wanted then). Values not seen before are
        numbered after those seen, in sorted order among themselves: when the first values seen are all there
        are, the codes are already the sorted ones and ``finish`` has nothing to renumber."""
        unseen = [raw for raw in dict.fromkeys(values) if raw not in self.index]
        # Sorted as ``finish`` will sort them; a value ``finish`` refuses is not refused here, so that a file over
        # the limit is refused for that first.
        for raw in sorted(unseen, key=lambda raw: (raw.decode("utf-8", "replace").strip(), raw)):
            self.index[raw] = len(self.index)
        if len(self.index) > self.max_groups:
            return None
        return np.array([self.index[raw] for raw in values], dtype=_code_dtype(len(self.index)))

    @staticmethod
    def _name(raw: bytes) -> str:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused from None
        stripped = name.strip()
        if not stripped or name in _MISSING:
            raise _Refused  # empty or a missing value: named by the slow pass
        if lookalike_problem(stripped):
            raise _Refused  # could print like another value: named by the slow pass
        return stripped

    def finish(self, codes: np.ndarray, name: str) -> tuple[str, ...]:
        """The sorted values; ``codes`` is renumbered in place to index them when they were written in the
        order first seen."""
        if len(self.index) > self.max_groups:
            raise StatsInputError(
                name,
                f"the {name} column has more than {self.max_groups:,} distinct values ({len(self.index):,}); "
                f"the limit is {self.max_groups:,} — is it the right column?", code="too_many_groups",
            )
        raw = [self._name(v) for v in self.index]
        if len(set(raw)) < len(raw):
            raise _Refused  # two values differing only by surrounding spaces: named by the slow pass
        names = tuple(sorted(raw))
        position = {v: i for i, v in enumerate(names)}
        remap = np.array([position[v] for v in raw], dtype=codes.dtype)
        if (remap != np.arange(remap.size)).any():
            for start in range(0, codes.shape[0], _REMAP_ROWS):
                part = codes[start : start + _REMAP_ROWS]
                np.take(remap, part, out=part, mode="clip")
        return names


_REMAP_ROWS = 1 << 20


_SAMPLE_ROWS = 4096  # rows of a file's first batch whose values are looked for first in every batch


def _write_codes(lookup: np.ndarray, indices: pa.Array, out: np.ndarray) -> None:
    """Each row's code, ``lookup`` at its index, written into ``out``."""
    np.take(lookup.astype(out.dtype, copy=False), indices.to_numpy(zero_copy_only=False), out=out, mode="clip")


def _outcome_values(column: pa.Array) -> np.ndarray:
    """A 0/1 column's values as int8. The column is read as one byte a field, so Arrow refuses a field of any
    other length ("01", " 1", "1.0", the empty field); here a byte other than "0" or "1" is refused. Exactly the
    values the slow pass accepts, and no number parsing, which costs Arrow more than the rest of the read."""
    if not len(column):
        return np.empty(0, dtype=np.int8)
    if column.null_count:
        raise _Refused
    raw = np.frombuffer(column.buffers()[1], dtype=np.uint8, count=len(column), offset=column.offset)
    values = raw - np.uint8(ord("0"))  # "0" -> 0, "1" -> 1, any other byte -> 2 .. 255
    if values.max() > 1:
        raise _Refused
    return values.view(np.int8)


def _score_values(column: pa.Array) -> np.ndarray:
    values: np.ndarray = column.to_numpy(zero_copy_only=False)
    if not np.isfinite(values).all():
        raise _Refused
    return values


_KEEP_FREED_BYTES = 16 << 20  # files up to this size leave Arrow's freed blocks to the next parse


def _release_arrow_memory(src: _Source) -> None:
    """Arrow's freed blocks back to the system after reading a large file. Arrow's allocator keeps what a read
    frees for reuse and hands none of it back on its own (a 60 MB file left its process 120 MB larger for
    good); after a file up to ``_KEEP_FREED_BYTES`` the few tens of MB are kept, and the next read reuses them
    instead of asking the system for fresh memory."""
    if src.size > _KEEP_FREED_BYTES:
        pa.default_memory_pool().release_unused()


def parse_predictions(
    data: Any, *, max_groups: int = 1000, max_rows: int = 5_000_000, attributes: Iterable[str] = ()
) -> Predictions:
    """Parse a predictions CSV: ``y_pred`` and at least one group column required; ``y_true``,
    ``y_pred_champion`` and ``score`` optional; other columns ignored, order free.

    Group columns are ``group`` and any of ``attributes`` (protected-attribute column names, for
    instance ``("sex", "age_band")``) found in the header. ``data`` is the file's bytes, a path,
    or a binary file object (read from its current position, in blocks). Group values are
    compared exactly; values differing only by surrounding spaces, values that could print like
    another (see ``lookalike_problem``), empty values and missing-value tokens are refused. Raises ``StatsInputError`` naming the column and, for
    bad values, the first offending row.

    Memory: the result holds one byte a row per group column (two past 127 distinct values),
    one per 0/1 column and eight for the score; Arrow holds one block of the file at a time
    (a file up to ``_WHOLE_FILE_BYTES``: the whole file, parsed on every core).
    """
    what = "predictions file"
    src = _Source(data, what)
    header = _header(src, 10_000)
    group_columns = [c for c in ("group", *attributes) if c in header]
    group_columns = list(dict.fromkeys(group_columns))
    if not group_columns:
        found = ", ".join(header)
        raise StatsInputError("group", f"the {what} has no 'group' column (found: {found})", code="missing_column")
    if "y_pred" not in header:
        found = ", ".join(header)
        raise StatsInputError("y_pred", f"the {what} has no 'y_pred' column (found: {found})", code="missing_column")
    outcomes = [c for c in _OUTCOME_COLUMNS if c in header]
    types: dict[str, pa.DataType] = {c: pa.binary() for c in group_columns}
    types |= {c: pa.binary(1) for c in outcomes}  # one byte a field: "0" or "1"
    if "score" in header:
        types["score"] = pa.float64()
    checks = [(c, "group") for c in group_columns]
    checks += [(c, "binary") for c in outcomes]
    checks += [("score", "finite")] if "score" in header else []

    groups = {c: _Groups(max_groups) for c in group_columns}
    out = _Output({c: np.float64 if c == "score" else np.int8 for c in types}, src)

    def convert(job: tuple[Any, int]) -> dict[str, tuple[pa.Array, pa.Array]]:
        """One batch: its 0/1 and score columns checked and written at ``start``, and each group column's codes
        when every row holds one of the values looked for (``likely``); otherwise the group column's distinct
        values and each row's index into them are returned, to be numbered once every batch is done."""
        batch, start = job
        k = batch.num_rows
        for c in outcomes:
            out.slot(c, start, k)[:] = _outcome_values(batch.column(c))
        if "score" in types:
            out.slot("score", start, k)[:] = _score_values(batch.column("score"))
        left = {}
        for c in group_columns:
            column = batch.column(c)
            found = pa.compute.index_in(column, value_set=likely[c])  # a lookup in a fixed set: cheaper than hashing
            lookup = known[c]
            if found.null_count or lookup is None:
                encoded = column.dictionary_encode()
                left[c] = (encoded.dictionary, encoded.indices)
            else:
                _write_codes(lookup, found, out.slot(c, start, k))
        return left

    try:
        for batches in _read(src, header, types, max_rows=max_rows, missing_as_null=False):
            starts = np.cumsum([out.rows] + [b.num_rows for b in batches]).tolist()
            # The values at the start of the file, numbered before any row is looked at.
            likely = {c: batches[0].column(c).slice(0, _SAMPLE_ROWS).unique() for c in group_columns}
            known = {c: groups[c].codes(likely[c].to_pylist()) for c in group_columns}
            for c, lookup in known.items():
                if lookup is not None:
                    out.widen(c, lookup.dtype.type)
            out.reserve(starts[-1] - out.rows)
            left = map_parallel(convert, list(zip(batches, starts, strict=False)))
            # Batches holding other values: their values numbered too, their codes written.
            for c in group_columns:
                rest = [(i, part[c]) for i, part in enumerate(left) if c in part]
                lookups = [groups[c].codes(values.to_pylist()) for _, (values, _) in rest]
                if len(groups[c].index) > max_groups:
                    continue  # over the limit: only the count of distinct values is wanted now
                out.widen(c, _code_dtype(len(groups[c].index)))
                for (i, (_, indices)), lookup in zip(rest, lookups, strict=True):
                    assert lookup is not None  # within the limit
                    _write_codes(lookup, indices, out.slot(c, starts[i], batches[i].num_rows))
            out.rows = starts[-1]
            del batches, left
        arrays = out.finish()
        attrs = tuple(Attribute(c, groups[c].finish(arrays[c], c), arrays[c]) for c in group_columns)
    except _Refused:
        raise _diagnose(src, header, checks) from None
    finally:
        _release_arrow_memory(src)

    return Predictions(
        group_names=attrs[0].values,
        group=attrs[0].codes,
        y_pred=arrays["y_pred"],
        y_true=arrays.get("y_true"),
        y_pred_champion=arrays.get("y_pred_champion"),
        score=arrays.get("score"),
        attributes=attrs,
    )


# --------------------------------------------------------------------------------------------
# Feature tables

_NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_null)


def parse_feature_table(
    data: Any, *, max_rows: int = 5_000_000, max_columns: int = 500
) -> dict[str, np.ndarray | list[str | None]]:
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
        first = next(_read(src, header, {name: pa.string() for name in header}, max_rows=max_rows, stream=True))[0]
    except _Refused:
        raise _diagnose(src, header, []) from None
    for name in header:
        try:
            pa.compute.cast(first.column(name).drop_null(), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            types[name] = pa.string()
    while True:
        parts: dict[str, list[Any]] = {name: [] for name in header}
        try:
            for batches in _read(src, header, types, max_rows=max_rows):
                for batch in batches:
                    for name in header:
                        parts[name].append(batch.column(name))
            break
        except _Refused:
            retyped = _first_non_numeric(src, header, types)
            if retyped is None:
                raise _diagnose(src, header, []) from None
            types[retyped] = pa.string()
    out: dict[str, np.ndarray | list[str | None]] = {}
    for name in header:
        column = pa.chunked_array(parts[name], type=types[name])
        if types[name] == pa.float64():
            out[name] = column.to_numpy().astype(np.float64, copy=False)
        else:
            out[name] = column.to_pylist()
    return out


def _first_non_numeric(src: _Source, header: list[str], types: dict[str, Any]) -> str | None:
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
