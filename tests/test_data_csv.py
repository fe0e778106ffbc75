"""CSV and TSV files through pyarrow: bad values found in any block keep the message of the first, rows keep
their spreadsheet numbers, types are inferred as before, only the columns asked for are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelctl.data import DataError, open_source
from modelctl.data.formats import delimited


@pytest.fixture
def folder(monkeypatch, tmp_path):
    """Files are written to and named from the working folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def small_blocks(monkeypatch, folder):
    """Blocks of 1 KiB (about 100 rows of these files), so that a file of a few thousand rows has many."""
    monkeypatch.setattr(delimited, "BLOCK_BYTES", 1024)


def _read(options: dict, columns=None, on_bad_rows: str = "error", rows: int = 500):
    source = open_source({"format": "csv", **options}, Path("."))
    batches = list(source.batches(columns, rows=rows, on_bad_rows=on_bad_rows))
    data = {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]} if batches else {}
    return data, source.skipped


def _error(options: dict, columns=None) -> str:
    with pytest.raises(DataError) as caught:
        _read(options, columns)
    return str(caught.value)


def _lines(count: int, start: int = 0) -> str:
    return "".join(f"{index / 4},{index},w{index}\n" for index in range(start, start + count))


def test_a_bad_value_in_a_later_block_names_its_row_and_column(small_blocks):
    Path("t.csv").write_text("x,n,s\n" + _lines(3000) + "1.5,seven,w\n" + _lines(20, 3000))
    assert _error({"path": "t.csv"}) == (
        "t.csv:row 3002: column 'n': 'seven' is not an integer (the column's type, int, was inferred from its "
        "first 1000 rows; declare it with `column_types: {n: float}`)")
    data, skipped = _read({"path": "t.csv"}, on_bad_rows="skip")
    assert skipped == {"column 'n': not an integer": 1}
    np.testing.assert_array_equal(data["n"], np.arange(3020))
    np.testing.assert_array_equal(data["x"], np.arange(3020) / 4)
    assert data["s"].tolist() == [f"w{index}" for index in range(3020)]


def test_int_columns_report_missing_values_words_and_overflow_by_reason(small_blocks):
    Path("t.csv").write_text("x,n,s\n" + _lines(2000) + "1,NA,a\n1,2.5,b\n1,9223372036854775808,c\n"
                             "1,-9223372036854775808,d\n" + _lines(5, 2000))
    data, skipped = _read({"path": "t.csv"}, on_bad_rows="skip")
    assert skipped == {"column 'n': missing value": 1, "column 'n': not an integer": 1,
                       "column 'n': out of the int64 range": 1}
    assert data["n"][2000] == -2**63 and data["n"].dtype == np.int64 and len(data["n"]) == 2006
    declared = {"path": "t.csv", "column_types": {"n": "int"}}
    assert _error(declared) == ("t.csv:row 2002: column 'n': missing value ('NA') where an integer is expected "
                                "(`column_types` declares it int; declare it float to read missing values as NaN)")
    Path("t.csv").write_text("x,n,s\n" + _lines(2000) + "1,9223372036854775808,c\n")
    assert _error(declared) == "t.csv:row 2002: column 'n': '9223372036854775808' is out of the int64 range"


def test_blank_lines_and_quoted_line_breaks_keep_spreadsheet_row_numbers(small_blocks):
    body = "".join(f"{index},\"line\nbreak\"\n" if index % 500 == 7 else f"{index},plain\n" for index in range(2000))
    Path("t.csv").write_text("n,s\n\n" + body.replace("1200,plain\n", "1200,plain\n\n\n") + "x,last\n\n")
    # Rows: header 1, a blank line, 2000 records, two more blank lines after record 1200, then the bad one.
    assert _error({"path": "t.csv"}) == (
        "t.csv:row 2005: column 'n': 'x' is not an integer (the column's type, int, was inferred from its first "
        "1000 rows; declare it with `column_types: {n: float}`)")
    data, _ = _read({"path": "t.csv"}, on_bad_rows="skip")
    assert data["s"][7] == "line\nbreak" and len(data["n"]) == 2000


def test_bad_rows_are_reported_in_row_order(small_blocks):
    Path("a.csv").write_text("x,n,s\n" + _lines(1500) + "1,2,3,4\n" + _lines(10) + "1,bad,s\n")
    assert _error({"path": "a.csv"}) == "a.csv:row 1502: expected 3 fields, found 4"
    Path("b.csv").write_text("x,n,s\n" + _lines(1500) + "1,bad,s\n" + _lines(10) + "1,2,3,4\n")
    assert _error({"path": "b.csv"}).startswith("b.csv:row 1502: column 'n': 'bad' is not an integer")
    Path("c.csv").write_text("x,n,s\n" + _lines(1500) + "1,2\n" + _lines(10) + "1,bad,s\n" + "1,2\n")
    data, skipped = _read({"path": "c.csv"}, on_bad_rows="skip")
    assert skipped == {"wrong number of fields": 2, "column 'n': not an integer": 1}
    assert len(data["n"]) == 1510
    assert open_source({"format": "csv", "path": "c.csv"}, Path(".")).count_rows() == 1513


def test_types_are_inferred_from_the_first_rows(folder):
    source = {"path": "t.csv"}
    rows = ["1,1,1.5,a,,7,-2", "2,NA,1e3,b,NA, 8 ,-0", "3,3,-inf,c,,9,+3"]
    Path("t.csv").write_text("ints,gaps,floats,words,empty,spaced,signed\n" + "\n".join(rows) + "\n")
    opened = open_source({"format": "csv", **source}, Path("."))
    assert opened.kinds == {"ints": "int", "gaps": "float", "floats": "float", "words": "string", "empty": "float",
                            "spaced": "int", "signed": "float"}
    data, _ = _read(source)
    assert data["gaps"][1] != data["gaps"][1] and data["floats"].tolist() == [1.5, 1000.0, -np.inf]
    assert data["spaced"].tolist() == [7, 8, 9] and data["empty"].dtype == np.float64
    assert data["words"].tolist() == ["a", "b", "c"]


def test_only_the_columns_asked_for_are_read(small_blocks):
    Path("t.csv").write_text("x,n,s\n" + _lines(2000) + "1.5,not a number,w\n")
    data, _ = _read({"path": "t.csv"}, ["s", "x"])
    assert list(data) == ["s", "x"] and len(data["x"]) == 2001


def test_text_that_is_not_utf8_is_named(small_blocks):
    Path("t.csv").write_bytes(b"x,n,s\n" + _lines(3000).encode() + b"1,2,caf\xe9\n")
    assert _error({"path": "t.csv"}) == ("t.csv: is not UTF-8 text: byte 0xe9 cannot be decoded (invalid "
                                         "continuation byte); save the file as UTF-8")


def test_every_part_of_a_glob_is_checked_with_its_own_row_numbers(small_blocks):
    Path("p-1.csv").write_text("x,n,s\n" + _lines(1500))
    Path("p-2.csv").write_text("x,n,s\n" + _lines(1500) + "oops,1,w\n")
    assert _error({"path": "p-*.csv"}).startswith("p-2.csv:row 1502: column 'x': 'oops' is not a number")
    data, skipped = _read({"path": "p-*.csv"}, on_bad_rows="skip")
    assert len(data["x"]) == 3000 and skipped == {"column 'x': not a number": 1}


def test_under_skip_an_example_number_still_names_its_source_row(small_blocks):
    """Rows the reader skipped are passed over when an example's number is turned into its file and row: each
    example's row, read back from the file's lines, holds that example's values."""
    Path("p-1.csv").write_text("x,n,s\n" + _lines(1500) + "1.5,seven,w\n" + _lines(10, 1500) + "oops,2,w\n"
                               + _lines(5, 1510))
    Path("p-2.csv").write_text("x,n,s\n" + _lines(3, 1515) + "2.5,eight,w\n" + _lines(1000, 1518))
    source = open_source({"format": "csv", "path": "p-*.csv"}, Path("."))
    batches = list(source.batches(None, rows=500, on_bad_rows="skip"))
    given = [",".join(map(str, values)) for batch in batches for values in zip(batch["x"], batch["n"], batch["s"])]
    assert source.skipped == {"column 'n': not an integer": 2, "column 'x': not a number": 1}
    lines = {name: Path(name).read_text().splitlines() for name in ("p-1.csv", "p-2.csv")}
    for example in [1, 1500, 1501, 1510, 1511, 1515, 1516, 1518, 1519, len(given)]:
        file, row = source.locate(example)
        assert lines[file.name][row - 1] == given[example - 1], example
    assert source.locate(1501) == (Path("p-1.csv").resolve(), 1503)
    assert source.locate(1516) == (Path("p-2.csv").resolve(), 2)
    assert source.locate(1519) == (Path("p-2.csv").resolve(), 6)


def test_under_skip_a_record_with_the_wrong_number_of_fields_leaves_examples_numbered(small_blocks):
    """The reader does not say where a record with the wrong number of fields was when it reads on several
    threads: the example's number is then all a message can give."""
    Path("t.csv").write_text("x,n,s\n" + _lines(10) + "1,2\n" + _lines(10, 10))
    source = open_source({"format": "csv", "path": "t.csv"}, Path("."))
    assert sum(len(batch["n"]) for batch in source.batches(None, on_bad_rows="skip")) == 20
    assert source.skipped == {"wrong number of fields": 1} and source.locate(15) is None


def test_a_tsv_with_quotes_and_declared_types(folder):
    Path("t.tsv").write_text('id\tnote\tscore\n1\t"tab\there"\t0.5\n2\tNA\tNA\n')
    source = open_source({"format": "tsv", "path": "t.tsv", "column_types": {"id": "string"}}, Path("."))
    data = next(source.batches())
    assert data["id"].tolist() == ["1", "2"] and data["note"].tolist() == ["tab\there", None]
    assert np.isnan(data["score"][1])
