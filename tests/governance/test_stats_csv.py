"""CSV readers of the statistics engine: what they accept, and what they refuse with which field."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.stats import StatsInputError, csvparse, parse_feature_table, parse_predictions
from governance.stats.csvparse import MISSING_TOKENS


@pytest.fixture(autouse=True, params=["read whole", "streamed"])
def read_path(request, monkeypatch):
    """Every test here runs on both ways a file is read: whole, by Arrow's threaded reader with the batches
    converted on every core (files up to 64 MB), and streamed a batch at a time (larger files)."""
    if request.param == "streamed":
        monkeypatch.setattr(csvparse, "_WHOLE_FILE_BYTES", -1)
    return request.param


def refused(data: bytes, **kwargs) -> StatsInputError:
    with pytest.raises(StatsInputError) as info:
        parse_predictions(data, **kwargs)
    return info.value


# --- accepted input ---------------------------------------------------------------------------


def test_parses_required_and_optional_columns_into_typed_arrays():
    p = parse_predictions(
        b"group,y_true,y_pred,y_pred_champion,score\nb,1,1,0,0.9\na,0,1,1,0.25\nb,0,0,0,-1e-3\n"
    )
    assert p.group_names == ("a", "b")
    assert p.group.tolist() == [1, 0, 1]
    assert p.y_pred.dtype == np.int8 and p.y_pred.tolist() == [1, 1, 0]
    assert p.y_true.tolist() == [1, 0, 0]
    assert p.y_pred_champion.tolist() == [0, 1, 0]
    assert p.score.dtype == np.float64 and p.score.tolist() == [0.9, 0.25, -0.001]


def test_optional_columns_absent_are_none():
    p = parse_predictions(b"group,y_pred\nx,1\n")
    assert p.y_true is None and p.y_pred_champion is None and p.score is None


def test_column_order_is_free_and_extra_columns_are_ignored():
    p = parse_predictions(b"id,y_pred,comment,group\n1,0,hello,north\n2,1,,south\n")
    assert p.group_names == ("north", "south")
    assert p.y_pred.tolist() == [0, 1]


def test_windows_line_endings_and_missing_trailing_newline():
    crlf = parse_predictions(b"group,y_pred\r\na,1\r\nb,0\r\n")
    bare = parse_predictions(b"group,y_pred\na,1\nb,0")
    for p in (crlf, bare):
        assert p.group_names == ("a", "b")
        assert p.y_pred.tolist() == [1, 0]


def test_quoted_group_containing_a_comma():
    p = parse_predictions(b'group,y_pred\n"Smith, J",1\nplain,0\n"Smith, J",0\n')
    assert p.group_names == ("Smith, J", "plain")
    assert p.group.tolist() == [0, 1, 0]


def test_utf8_bom_and_non_ascii_group_names():
    p = parse_predictions("\ufeffgroup,y_pred\nÅland,1\nZürich,0\n".encode())
    assert p.group_names == ("Zürich", "Åland")  # code-point order, as sorted() gives


def test_group_names_differing_only_by_surrounding_spaces_are_refused_not_merged():
    # Merging " a " into "a" silently would pool two populations someone kept apart.
    err = refused(b"group,y_pred\n a ,1\na,0\n")
    assert (err.code, err.field, err.row, err.line) == ("ambiguous_spaces", "group", 2, 3)


@pytest.mark.parametrize(
    "lookalike",
    ["\u0412lack", "Black\u200b", "\uff22lack", "Bla\u0441k", "Bla\u00a0ck", "Bl\u0061\u0301ck"],
    ids=["cyrillic-initial", "zero-width-space", "fullwidth", "cyrillic-inside", "no-break-space", "decomposed"],
)
def test_group_names_that_print_like_another_are_refused_naming_the_row(lookalike):
    # "Black", a Cyrillic "Вlack" and "Black" with a zero-width space print alike but would be three groups.
    err = refused(f"group,y_pred\nBlack,1\nWhite,0\n{lookalike},1\n".encode())
    assert (err.code, err.field, err.row, err.line) == ("lookalike_value", "group", 3, 4)


def test_a_lookalike_value_in_a_protected_attribute_column_is_refused():
    err = refused("group,sex,y_pred\na,Female,1\nb,\u041cale,0\n".encode() + b"a,Male,0\n", attributes=("sex",))
    assert (err.code, err.field, err.row) == ("lookalike_value", "sex", 2)


def test_names_in_one_script_or_one_language_are_accepted():
    p = parse_predictions("group,y_pred\nCaf\u00e9,1\n\u65e5\u672c\u8a9e\u3072\u3089,0\n\u0411\u0435\u043b\u044b\u0439 2,1\n".encode())
    assert p.group_names == ("Caf\u00e9", "\u0411\u0435\u043b\u044b\u0439 2", "\u65e5\u672c\u8a9e\u3072\u3089")


def test_a_group_with_surrounding_spaces_and_no_twin_is_kept_stripped():
    p = parse_predictions(b"group,y_pred\n a ,1\nb,0\n")
    assert p.group_names == ("a", "b")


def test_long_group_names_are_kept_distinct():
    long_a, long_b = "x" * 40 + "a", "x" * 40 + "b"
    p = parse_predictions(f"group,y_pred\n{long_a},1\n{long_b},0\n{long_a},0\n".encode())
    assert p.group_names == (long_a, long_b)
    assert p.group.tolist() == [0, 1, 0]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text(
                st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=',"'),
                min_size=1,
                max_size=20,
            ).filter(lambda name: name not in MISSING_TOKENS and csvparse.lookalike_problem(name) is None),
            st.integers(0, 1),
        ),
        min_size=1,
        max_size=30,
    ),
    quoted=st.booleans(),
)
def test_fast_and_csv_module_paths_agree(rows, quoted):
    """A quote anywhere sends the file through the csv module; both paths must read the same."""
    extra = '"x"' if quoted else "x"
    text = "group,y_pred,note\n" + "".join(f"{g},{y},{extra}\n" for g, y in rows)
    p = parse_predictions(text.encode())
    assert p.group_names == tuple(sorted({g for g, _ in rows}))
    assert [p.group_names[c] for c in p.group] == [g for g, _ in rows]
    assert p.y_pred.tolist() == [y for _, y in rows]


def test_a_large_file_parses_every_row():
    """Speed is measured in bench/fairness.py; here, that a large file is read whole and right."""
    rng = np.random.default_rng(1)
    n = 200_000
    names = np.array([b"north", b"south", b"east", b"west"])
    body = b"\n".join(
        names[rng.integers(0, 4, n)]
        + b","
        + rng.integers(0, 2, n).astype("S1")
        + b","
        + rng.integers(0, 2, n).astype("S1")
        + b","
        + rng.integers(0, 2, n).astype("S1")
    )
    data = b"group,y_true,y_pred,y_pred_champion\n" + body + b"\n"
    p = parse_predictions(data)
    assert p.rows == n
    assert p.group_names == ("east", "north", "south", "west")


# --- refused input ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n", b"group,y_pred\n", b"group,y_pred\r\n\r\n"])
def test_empty_file_or_header_only_has_no_rows(data):
    err = refused(data)
    assert (err.code, err.field) == ("no_rows", "file")


@pytest.mark.parametrize("missing, header", [("group", b"y_pred,y_true"), ("y_pred", b"group,y_true")])
def test_missing_required_column_names_it(missing, header):
    err = refused(header + b"\n1,0\n")
    assert (err.code, err.field) == ("missing_column", missing)


@pytest.mark.parametrize("column", ["y_pred", "y_true", "y_pred_champion"])
@pytest.mark.parametrize("bad", ["2", "yes", "", "1.0", "-1"])
def test_value_other_than_0_or_1_names_first_row_and_value(column, bad):
    lines = ["group,y_pred,y_true,y_pred_champion"]
    for i in range(1, 6):
        values = {"y_pred": "1", "y_true": "0", "y_pred_champion": "1"}
        if i >= 3:
            values[column] = bad if i == 3 else "7"  # row 3 is the first offender
        lines.append(f"g,{values['y_pred']},{values['y_true']},{values['y_pred_champion']}")
    err = refused("\n".join(lines).encode())
    assert (err.code, err.field, err.row, err.line) == ("not_binary", column, 3, 4)


@pytest.mark.parametrize("bad", ["01", "00", "-0", "+1", " 1", "1 ", "0x1", "１"])
def test_a_0_or_1_column_takes_exactly_0_and_1(bad):
    # Read as numbers these would pass as 0 or 1 on the fast path while the slow pass refused them.
    err = refused(f"group,y_pred\na,1\nb,{bad}\nc,0\n".encode())
    assert (err.code, err.field, err.row, err.line) == ("not_binary", "y_pred", 2, 3)
    assert repr(bad) in err.message


def test_bad_binary_value_in_quoted_file_reports_its_line():
    err = refused(b'group,y_pred\n"a, b",1\n\n"c",x\n')  # blank line 3 is skipped
    assert (err.code, err.field, err.row, err.line) == ("not_binary", "y_pred", 2, 4)


@pytest.mark.parametrize(
    "bad, code",
    [
        ("abc", "not_finite"),
        ("inf", "not_finite"),
        ("nan", "missing_value"),
        ("", "empty_value"),
    ],
)
def test_score_must_be_a_finite_number(bad, code):
    err = refused(f"group,y_pred,score\na,1,0.5\nb,0,{bad}\n".encode())
    assert (err.code, err.field, err.row) == (code, "score", 2)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_group_value_is_refused(value):
    err = refused(f"group,y_pred\na,1\n{value},0\n".encode())
    assert (err.code, err.field, err.row) == ("empty_value", "group", 2)


def test_too_many_distinct_groups_is_refused():
    body = b"\n".join(np.char.add(np.arange(100_000).astype("S6"), b",1").tolist())
    err = refused(b"group,y_pred\n" + body + b"\n")
    assert (err.code, err.field) == ("too_many_groups", "group")


def test_group_limit_is_configurable():
    data = b"group,y_pred\na,1\nb,0\nc,1\n"
    assert refused(data, max_groups=2).field == "group"
    assert parse_predictions(data, max_groups=3).group_names == ("a", "b", "c")


def test_too_many_rows_is_refused():
    data = b"group,y_pred\n" + b"a,1\n" * 11
    err = refused(data, max_rows=10)
    assert (err.code, err.field) == ("too_many_rows", "file")
    assert parse_predictions(data, max_rows=11).rows == 11


def test_not_utf8_is_refused():
    err = refused("group,y_pred\nMünchen,1\n".encode("latin-1"))
    assert (err.code, err.field) == ("not_utf8", "file")


def test_ragged_row_is_refused_with_its_line():
    err = refused(b"group,y_pred\na,1\nb,0,extra\n")
    assert (err.code, err.field, err.line) == ("ragged_row", "file", 3)


def test_duplicate_column_is_refused():
    assert refused(b"group,y_pred,group\na,1,b\n").field == "group"


# --- feature tables ---------------------------------------------------------------------------


def test_feature_table_types_columns_and_marks_missing_values():
    table = parse_feature_table(b"income,region,age\n52000,north,41\n,south,\n61000.5,,38\n")
    assert list(table) == ["income", "region", "age"]
    np.testing.assert_array_equal(table["income"], [52000.0, np.nan, 61000.5])
    assert table["region"] == ["north", "south", None]
    np.testing.assert_array_equal(table["age"], [41.0, np.nan, 38.0])


def test_feature_column_with_any_text_is_categorical():
    table = parse_feature_table(b"code\n1\n2\nA7\n")
    assert table["code"] == ["1", "2", "A7"]


def test_feature_table_refuses_empty_and_ragged_input():
    with pytest.raises(StatsInputError) as info:
        parse_feature_table(b"a,b\n")
    assert info.value.field == "file"
    with pytest.raises(StatsInputError) as info:
        parse_feature_table(b"a,b\n1,2\n3\n")
    assert (info.value.code, info.value.field, info.value.line) == ("ragged_row", "file", 3)


def test_feature_table_column_limit():
    with pytest.raises(StatsInputError) as info:
        parse_feature_table(b"a,b,c\n1,2,3\n", max_columns=2)
    assert info.value.code == "too_many_columns"


# --- Arrow reader: line endings, missing-value tokens, group labels ---------------------------


def test_cr_only_line_endings_are_read():
    p = parse_predictions(b"group,y_pred\ra,1\rb,0\ra,0\r")
    assert p.group_names == ("a", "b")
    assert p.y_pred.tolist() == [1, 0, 0]


def test_cr_only_file_with_a_bad_value_still_names_its_row():
    err = refused(b"group,y_pred\ra,1\rb,2\r")
    assert (err.code, err.field, err.row) == ("not_binary", "y_pred", 2)


@pytest.mark.parametrize("token", ["NA", "null", "None", "NaN", "#N/A", "<NA>"])
def test_missing_value_tokens_never_become_group_names(token):
    err = refused(f"group,y_pred\na,1\n{token},0\n".encode())
    assert (err.code, err.field, err.row) == ("missing_value", "group", 2)


@pytest.mark.parametrize("token", ["NA", "null", "None", "NaN", "n/a", "NULL"])
def test_missing_value_tokens_keep_a_numeric_feature_numeric(token):
    table = parse_feature_table(f"income,region\n52000,north\n{token},{token}\n61000.5,south\n".encode())
    np.testing.assert_array_equal(table["income"], [52000.0, np.nan, 61000.5])
    assert table["region"] == ["north", None, "south"]


def test_text_appearing_late_in_a_numeric_looking_column_makes_it_categorical():
    # Arrow guesses types from the first batch; a later batch with text must not be an error.
    body = b"".join(b"%d\n" % i for i in range(200_000)) + b"A7\n"
    table = parse_feature_table(b"code\n" + body)
    assert table["code"][-1] == "A7" and table["code"][0] == "0"


def test_predictions_can_be_read_from_a_path(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"group,y_pred\na,1\nb,0\n")
    assert parse_predictions(path).y_pred.tolist() == [1, 0]


def test_several_protected_attribute_columns_are_read():
    p = parse_predictions(
        b"sex,age_band,y_pred\nF,18-30,1\nM,31-50,0\nF,31-50,1\n", attributes=("sex", "age_band")
    )
    assert [a.name for a in p.attributes] == ["sex", "age_band"]
    assert p.group_names == ("F", "M")
    assert p.attributes[1].values == ("18-30", "31-50")
    assert p.attributes[1].codes.tolist() == [0, 1, 1]


def test_a_large_quoted_file_is_read_with_groups_intact():
    rng = np.random.default_rng(4)
    n = 300_000
    names = np.array([b'"north, A"', b'"south"', b"east"])
    lines = names[rng.integers(0, 3, n)] + b"," + rng.integers(0, 2, n).astype("S1")
    p = parse_predictions(b"group,y_pred\n" + b"\n".join(lines.tolist()) + b"\n")
    assert p.group_names == ("east", "north, A", "south") and p.rows == n


def test_predictions_can_be_read_from_a_binary_file_object_from_its_position():
    import io

    upload = io.BytesIO(b"junk before the upload|group,y_pred\na,1\nb,0\n")
    upload.seek(len(b"junk before the upload|"))
    p = parse_predictions(upload)
    assert p.group_names == ("a", "b") and p.y_pred.tolist() == [1, 0]
    assert not upload.closed  # the caller's file stays theirs


def test_errors_in_a_file_object_name_the_row_and_line():
    import io

    error = refused(io.BytesIO(b"group,y_pred\na,1\nb,2\n"))
    assert (error.code, error.field, error.row, error.line) == ("not_binary", "y_pred", 2, 3)


def test_a_non_seekable_stream_is_read_too():
    import io

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert parse_predictions(Pipe(b"group,y_pred\na,1\nb,0\n")).rows == 2


@pytest.mark.parametrize("early_name, late_name", [("g", "late"), ("z", "a")])
def test_codes_stay_right_when_new_groups_appear_after_many_rows(early_name, late_name):
    # The codes start one byte wide and widen when the 128th value appears, blocks later; late values sorting
    # before the early ones renumber the codes already written.
    early = [f"{early_name}{i % 5},{i % 2}" for i in range(200_000)]
    late = [f"{late_name}{i:03d},1" for i in range(300)]
    p = parse_predictions(("group,y_pred\n" + "\n".join(early + late + early[:10]) + "\n").encode())
    assert list(p.group_names) == sorted(p.group_names)
    names = [p.group_names[c] for c in p.group]
    assert names[:5] == [f"{early_name}{i}" for i in range(5)]
    assert names[200_000:200_300] == [f"{late_name}{i:03d}" for i in range(300)]
    assert names[-10:] == [f"{early_name}{i % 5}" for i in range(10)]
    assert p.rows == 200_310 and len(p.group_names) == 305


@pytest.mark.parametrize(
    ("header", "row", "n", "names", "blocks"),
    [
        # A newline inside a quoted value is not a line end: Arrow cuts a file into 1 MB blocks at line ends.
        ("group,y_pred,note", lambda i: f'"g\n{i % 3}",{i % 2},"note\nline {i}"', 150_000, ("g\n0", "g\n1", "g\n2"), 3),
        # The text after the line break is shaped like a row of this file. Arrow's fast line cutter (no quote
        # tracking) would cut a block inside one; its threaded reader then drops the cut line and reads the rest
        # as rows, with no error. Quoted files are cut with quotes tracked.
        ("group,y_pred", lambda i: f'"a\nb,1\nc{i % 3}",{i % 2}', 200_000, ("a\nb,1\nc0", "a\nb,1\nc1", "a\nb,1\nc2"), 2),
    ],
    ids=["notes", "row-shaped"],
)
def test_quoted_values_with_line_breaks_are_kept_across_arrow_blocks(header, row, n, names, blocks):
    data = (header + "\n" + "\n".join(row(i) for i in range(n)) + "\n").encode()
    assert len(data) > blocks * (1 << 20)
    p = parse_predictions(data)
    assert p.rows == n and p.group_names == names
    assert p.group.tolist() == [i % 3 for i in range(n)]
    assert [p.group_names[c] for c in p.group[:4]] == [names[0], names[1], names[2], names[0]]
    assert p.y_pred.tolist() == [i % 2 for i in range(n)]


def test_a_file_on_disk_is_read_like_the_same_bytes(tmp_path):
    # A file on disk is searched for quotes and parsed from one mapping; a quote only in the last row still
    # turns on the quoted-newline reading for the whole file.
    rows = [f"g{i % 3},{i % 2}" for i in range(50_000)] + ['"g\n0",1']
    data = ("group,y_pred\n" + "\n".join(rows) + "\n").encode()
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    from_disk, from_bytes = parse_predictions(path), parse_predictions(data)
    assert from_disk.group_names == from_bytes.group_names == ("g\n0", "g0", "g1", "g2")
    assert np.array_equal(from_disk.group, from_bytes.group)
    assert np.array_equal(from_disk.y_pred, from_bytes.y_pred)


def test_a_header_line_longer_than_the_first_read_is_read_whole():
    data = ("group,y_pred," + "x" * 100_000 + "\na,1,\nb,0,\n").encode()
    assert parse_predictions(data).y_pred.tolist() == [1, 0]
    assert csvparse._header(csvparse._Source(data, "file"), 10) == ["group", "y_pred", "x" * 100_000]


def test_a_column_name_too_long_to_read_is_refused_with_a_reason():
    data = ("group,y_pred," + "x" * 200_000 + "\na,1,\n").encode()
    error = refused(data)
    assert error.code == "bad_header" and "field limit" in error.message


def test_a_header_longer_than_a_megabyte_is_refused():
    data = ("group,y_pred," + "x" * (1 << 20) + "\na,1,\n").encode()
    assert refused(data).code == "header_too_long"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_header_name_with_a_line_break_in_quotes_is_read(newline):
    # A spreadsheet cell with a line break in it, exported quoted: the header takes two lines of the file.
    data = f'group,y_pred,"Reviewer{newline}note"{newline}a,1,x{newline}b,0,y{newline}'.encode()
    p = parse_predictions(data)
    assert p.y_pred.tolist() == [1, 0] and p.group_names == ("a", "b")
    table = parse_feature_table(f'"Income{newline}(monthly)",age{newline}100,30{newline}200,40{newline}'.encode())
    assert table[f"Income{newline}(monthly)"].tolist() == [100, 200]


def test_a_bad_value_under_a_two_line_header_is_named_at_its_line():
    data = b'group,"y_pred\nnew"\na,1\nb,2\n'
    error = refused(data)
    assert error.code == "missing_column"  # the column is "y_pred\nnew", not y_pred
    data = b'group,y_pred,"note\nmore"\na,1,x\nb,2,y\n'
    error = refused(data)
    assert (error.code, error.field, error.row, error.line) == ("not_binary", "y_pred", 2, 4)  # lines 1-2: header
