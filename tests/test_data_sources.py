"""Reading sources: every format gives back the arrays it was written from, in batches, and bad data names
its file, row and column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from modelctl.data import DataError, open_source
from modelctl.errors import SpecError
from modelctl.data.sources import rebatch
from modelctl.registry.sources import source_names, sources

from conftest import IRIS_COLUMNS

def _read(source, columns=None, rows=4096, on_bad_rows="error") -> dict[str, np.ndarray]:
    batches = list(source.batches(columns, rows=rows, on_bad_rows=on_bad_rows))
    return {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}


def test_every_registered_format_is_in_the_schema_and_has_a_reader():
    from modelctl.data.sources import Source
    from modelctl.spec.schema import build_schema

    assert build_schema()["$defs"]["source"]["properties"]["format"]["enum"] == source_names()
    assert source_names()[:3] == ["csv", "tsv", "parquet"]
    for name in source_names():
        assert issubclass(sources().get(name).load(), Source), name


def test_csv_reads_back_iris_exactly(files):
    source = open_source({"format": "csv", "path": "iris.csv"}, files.root)
    assert source.columns == [*IRIS_COLUMNS, "species"]
    assert source.files == [files.root / "iris.csv"]
    data = _read(source, rows=32)
    np.testing.assert_array_equal(np.stack([data[name] for name in IRIS_COLUMNS], axis=1), files.iris.data)
    assert data["sepal_length"].dtype == np.float64
    assert data["species"].dtype == object
    assert data["species"].tolist() == files.iris.target_names[files.iris.target].tolist()
    assert source.count_rows() == 150


def test_tsv_reads_back_wine_with_declared_types(files):
    source = open_source({"format": "tsv", "path": "wine.tsv", "column_types": {"cultivar": "string"}}, files.root)
    data = _read(source, rows=50)
    features = np.stack([data[name] for name in source.columns[:-1]], axis=1)
    np.testing.assert_array_equal(features, files.wine.data)
    assert data["cultivar"].tolist() == [str(target) for target in files.wine.target]
    inferred = _read(open_source({"format": "tsv", "path": "wine.tsv"}, files.root), ["cultivar"])
    assert inferred["cultivar"].dtype == np.int64
    np.testing.assert_array_equal(inferred["cultivar"], files.wine.target)


def test_glob_reads_every_part_in_order_as_one_table(files):
    source = open_source({"format": "csv", "path": "cancer/part-*.csv"}, files.root)
    assert source.files == [files.root / "cancer" / "part-1.csv", files.root / "cancer" / "part-2.csv"]
    batches = list(source.batches(rows=256))
    assert [len(batch["target"]) for batch in batches] == [256, 256, 57]
    data = _read(source, rows=256)
    np.testing.assert_array_equal(np.stack([data[name] for name in source.columns[:-1]], axis=1), files.cancer.data)
    np.testing.assert_array_equal(data["target"], files.cancer.target)
    assert source.count_rows() == 569
    assert source.estimated_rows() == pytest.approx(569, rel=0.02)  # from the first part's lines, headers counted


def test_parquet_streams_row_groups_and_reads_back_diabetes(files):
    source = open_source({"format": "parquet", "path": "diabetes.parquet"}, files.root)
    assert source.columns == [*files.diabetes.feature_names, "progression", "visit", "group"]
    batches = list(source.batches(rows=64))
    assert [len(batch["age"]) for batch in batches] == [64] * 6 + [58]
    data = _read(source, rows=64)
    np.testing.assert_array_equal(np.stack([data[name] for name in files.diabetes.feature_names], axis=1),
                                  files.diabetes.data)
    np.testing.assert_array_equal(data["progression"], files.diabetes.target)
    assert data["visit"].dtype == np.int32
    assert data["group"][:3].tolist() == [None, "g1", "g2"]
    assert source.count_rows() == source.estimated_rows() == 442


def test_npy_columns_are_memory_mapped_and_keep_their_shape(files):
    arrays = {"pixels": "digits/pixels.npy", "images": "digits/images.npy", "digit": "digits/digit.npy"}
    source = open_source({"format": "npy", "arrays": arrays}, files.root)
    assert source.columns == ["pixels", "images", "digit"]
    batches = list(source.batches(["images", "digit"], rows=500))
    assert [batch["images"].shape for batch in batches] == [(500, 8, 8)] * 3 + [(297, 8, 8)]
    data = _read(source)
    np.testing.assert_array_equal(data["pixels"], files.digits.data)
    np.testing.assert_array_equal(data["images"], files.digits.images)
    np.testing.assert_array_equal(data["digit"], files.digits.target)
    assert source.count_rows() == 1797


@pytest.mark.parametrize("name", ["digits.npz", "digits-compressed.npz"])
def test_npz_arrays_are_columns_read_a_batch_at_a_time(files, name):
    source = open_source({"format": "npz", "path": name}, files.root)
    data = _read(source, rows=700)
    assert [len(batch["digit"]) for batch in source.batches(rows=700)] == [700, 700, 397]
    np.testing.assert_array_equal(data["images"], files.digits.images)
    np.testing.assert_array_equal(data["digit"], files.digits.target)
    if "fortran" in source.columns:
        np.testing.assert_array_equal(data["fortran"], files.digits.data)
    assert source.count_rows() == 1797


def test_image_folder_lists_images_by_class_in_sorted_order(files):
    from PIL import Image

    source = open_source({"format": "image_folder", "path": "images"}, files.root)
    assert source.columns == ["image", "label"]
    data = _read(source, rows=5)
    assert data["label"].tolist() == ["0"] * 4 + ["1"] * 4 + ["2"] * 4
    assert data["image"].tolist() == [str(path) for path in source.files]
    assert data["image"].tolist() == sorted(data["image"].tolist())
    for path, label in zip(data["image"], data["label"]):
        index = int(Path(path).stem)
        assert files.digits.target[index] == int(label)
        pixels = np.asarray(Image.open(path))
        np.testing.assert_array_equal(pixels, np.round(files.digits.images[index] * 255 / 16))
    assert source.count_rows() == 12


def test_text_folder_reads_each_file_with_its_label(files):
    source = open_source({"format": "text_folder", "path": "reviews"}, files.root)
    data = _read(source, rows=3)
    assert data["label"].tolist() == ["neg"] * 3 + ["pos"] * 4
    assert data["text"].tolist() == ["dull and slow", "I left early.", "never again",
                                     "a delight", "Große Freude — wunderbar!", "loved it", "five stars"]
    assert _read(source, ["label"])["label"].tolist() == data["label"].tolist()


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_tfrecord_parses_the_declared_schema(files, tmp_path, compression):
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    iris = files.iris
    options = tf.io.TFRecordOptions(compression_type="GZIP" if compression == "gzip" else "")
    for part, rows in (("a", range(0, 100)), ("b", range(100, 150))):
        with tf.io.TFRecordWriter(str(tmp_path / f"iris-{part}.tfrecord"), options) as writer:
            for row in rows:
                example = tf.train.Example(features=tf.train.Features(feature={
                    "measurements": tf.train.Feature(float_list=tf.train.FloatList(value=iris.data[row])),
                    "target": tf.train.Feature(int64_list=tf.train.Int64List(value=[iris.target[row]])),
                    "species": tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[iris.target_names[iris.target[row]].encode()])),
                }))
                writer.write(example.SerializeToString())
    schema = {"measurements": {"dtype": "float32", "shape": [4]}, "target": {"dtype": "int64"},
              "species": {"dtype": "string", "shape": []}}
    source = open_source({"format": "tfrecord", "path": "iris-*.tfrecord", "compression": compression,
                          "schema": schema}, tmp_path)
    assert source.columns == ["measurements", "target", "species"]
    assert [len(batch["target"]) for batch in source.batches(rows=64)] == [64, 64, 22]
    data = _read(source, rows=64)
    np.testing.assert_array_equal(data["measurements"], iris.data.astype(np.float32))
    np.testing.assert_array_equal(data["target"], iris.target)
    assert data["species"].tolist() == [name.encode() for name in iris.target_names[iris.target]]
    assert source.count_rows() == 150

    with tf.io.TFRecordWriter(str(tmp_path / "iris-c.tfrecord"), options) as writer:
        writer.write(tf.train.Example().SerializeToString())
    source = open_source({"format": "tfrecord", "path": "iris-*.tfrecord", "compression": compression,
                          "schema": schema}, tmp_path)
    with pytest.raises(DataError) as caught:
        _read(source)
    assert str(caught.value) == (f"{tmp_path / 'iris-c.tfrecord'}:row 1: does not fit the declared schema: feature "
                                 f"'measurements' is missing; feature 'target' is missing; feature 'species' is "
                                 f"missing")
    assert len(_read(source, on_bad_rows="skip")["target"]) == 150
    assert source.skipped == {"does not fit the schema": 1}


def test_a_large_csv_streams_in_batches_of_the_requested_size(tmp_path):
    values = np.arange(50_000)
    (tmp_path / "big.csv").write_text("a,b\n" + "".join(f"{v},{v * 0.5}\n" for v in values))
    source = open_source({"format": "csv", "path": "big.csv"}, tmp_path)
    sizes = []
    total = 0.0
    for batch in source.batches(rows=1000):
        sizes.append(len(batch["a"]))
        total += batch["b"].sum()
    assert sizes == [1000] * 50
    assert total == values.sum() * 0.5
    assert source.count_rows() == 50_000


def test_rebatch_gives_full_batches_from_uneven_chunks():
    chunks = [{"x": np.arange(start, stop)} for start, stop in ((0, 3), (3, 3), (3, 10), (10, 11), (11, 25))]
    batches = list(rebatch(chunks, 4))
    assert [len(batch["x"]) for batch in batches] == [4, 4, 4, 4, 4, 4, 1]
    np.testing.assert_array_equal(np.concatenate([batch["x"] for batch in batches]), np.arange(25))


# Bad data: each message names the file, the row (the header is row 1) and the column.

@pytest.fixture
def bad_iris(tmp_path, monkeypatch, files):
    """iris.csv in the working folder, with row 14 (the 13th example) holding `abc` as its sepal length."""
    monkeypatch.chdir(tmp_path)
    lines = (files.root / "iris.csv").read_text().splitlines()
    lines[13] = "abc" + lines[13][lines[13].index(","):]
    Path("iris.csv").write_text("\n".join(lines) + "\n")
    return Path("iris.csv")


def test_a_word_in_a_float_column_names_file_row_and_column(bad_iris):
    source = open_source({"format": "csv", "path": "iris.csv", "column_types": {"sepal_length": "float"}}, Path("."))
    with pytest.raises(DataError) as caught:
        _read(source, rows=10)
    assert str(caught.value) == "iris.csv:row 14: column 'sepal_length': 'abc' is not a number"
    assert (caught.value.row, caught.value.column, caught.value.exit_code) == (14, "sepal_length", 1)


def test_a_word_in_an_inferred_float_column_says_how_to_declare_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("late.csv").write_text("x,y\n" + "1.5,2\n" * 1500 + "n/a,3\n")
    with pytest.raises(DataError) as caught:
        _read(open_source({"format": "csv", "path": "late.csv"}, Path(".")))
    assert str(caught.value) == ("late.csv:row 1502: column 'x': 'n/a' is not a number (the column's type, float, "
                                 "was inferred from its first 1000 rows; declare it with `column_types: {x: string}`)")


def test_on_bad_rows_skip_drops_and_counts_bad_rows(bad_iris):
    lines = bad_iris.read_text().splitlines()
    lines[20] = lines[20].replace(",", ",x", 1)
    lines[30] = lines[30] + ",extra"
    lines[40] = ",".join(["NA", *lines[40].split(",")[1:]])
    lines[50] = "oops,bad" + lines[50][lines[50].index(",", lines[50].index(",") + 1):]
    bad_iris.write_text("\n".join(lines) + "\n")
    source = open_source({"format": "csv", "path": "iris.csv",
                          "column_types": {"sepal_length": "float", "sepal_width": "float"}}, Path("."))
    data = _read(source, rows=16, on_bad_rows="skip")
    assert source.skipped == {"column 'sepal_length': not a number": 2, "column 'sepal_width': not a number": 1,
                              "wrong number of fields": 1}
    assert len(data["species"]) == 150 - 4
    assert np.isnan(data["sepal_length"]).sum() == 1
    assert [len(batch["species"]) for batch in source.batches(rows=16, on_bad_rows="skip")] == [16] * 9 + [2]
    with pytest.raises(DataError, match=r"^iris\.csv:row 14: column 'sepal_length': 'abc' is not a number$"):
        _read(source)


def test_a_missing_value_in_an_int_column_is_a_bad_row(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("counts.csv").write_text("n,label\n1,a\n2,b\nNA,c\n4,d\n")
    source = open_source({"format": "csv", "path": "counts.csv", "column_types": {"n": "int"}}, Path("."))
    with pytest.raises(DataError) as caught:
        _read(source)
    assert str(caught.value) == ("counts.csv:row 4: column 'n': missing value ('NA') where an integer is expected "
                                 "(`column_types` declares it int; declare it float to read missing values as NaN)")
    assert _read(source, on_bad_rows="skip")["n"].tolist() == [1, 2, 4]
    assert source.skipped == {"column 'n': missing value": 1}


def test_too_many_fields_names_the_row(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.csv").write_text("a,b\n1,2\n\n3,4,5\n")
    with pytest.raises(DataError) as caught:
        _read(open_source({"format": "csv", "path": "t.csv"}, Path(".")))
    assert str(caught.value) == "t.csv:row 4: expected 2 fields, found 3"


def test_headerless_csv_takes_column_names(tmp_path):
    (tmp_path / "h.csv").write_text("1,x\n2,y\n")
    source = open_source({"format": "csv", "path": "h.csv", "header": False, "column_names": ["n", "s"]}, tmp_path)
    data = _read(source)
    assert (data["n"].tolist(), data["s"].tolist()) == ([1, 2], ["x", "y"])
    with pytest.raises(DataError, match="`header` is false, so `column_names` must list"):
        open_source({"format": "csv", "path": "h.csv", "header": False}, tmp_path)


def test_a_missing_column_lists_the_columns_and_suggests_the_closest(files, monkeypatch):
    monkeypatch.chdir(files.root)
    source = open_source({"format": "csv", "path": "iris.csv"}, Path("."))
    with pytest.raises(DataError) as caught:
        source.batches(["sepal_lenght", "species"])
    assert str(caught.value) == ("iris.csv: no column 'sepal_lenght'. Available columns: 'sepal_length', "
                                 "'sepal_width', 'petal_length', 'petal_width', 'species'. Did you mean "
                                 "'sepal_length'?")


def test_an_undecodable_text_file_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for label, content in (("a", b"fine"), ("b", b"\xffbad"), ("b", b"ok")):
        folder = Path("texts") / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{len(list(folder.iterdir()))}.txt").write_bytes(content)
    source = open_source({"format": "text_folder", "path": "texts"}, Path("."))
    with pytest.raises(DataError) as caught:
        _read(source)
    assert str(caught.value) == "texts/b/0.txt: cannot be decoded as utf-8: byte 0xff at offset 0 (invalid start byte)"
    assert _read(source, on_bad_rows="skip")["text"].tolist() == ["fine", "ok"]
    assert source.skipped == {"cannot be decoded as utf-8": 1}
    latin = open_source({"format": "text_folder", "path": "texts", "encoding": "latin-1"}, Path("."))
    assert _read(latin)["text"].tolist() == ["fine", "\xffbad", "ok"]


def test_a_glob_without_matches_names_the_pattern_and_folder(files):
    with pytest.raises(DataError) as caught:
        open_source({"format": "csv", "path": "cancer/part-*.tsv"}, files.root)
    assert str(caught.value) == f"no file matches the pattern 'cancer/part-*.tsv' in the folder {files.root}"


def test_glob_parts_must_share_the_header(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("p-1.csv").write_text("a,b\n1,2\n")
    Path("p-2.csv").write_text("a,c\n3,4\n")
    with pytest.raises(DataError) as caught:
        _read(open_source({"format": "csv", "path": "p-*.csv"}, Path(".")))
    assert str(caught.value) == ("p-2.csv:row 1: the header row 'a', 'c' differs from the first file's (p-1.csv): "
                                 "'a', 'b'")


def test_npy_arrays_must_have_equal_rows(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    np.save(tmp_path / "y.npy", np.zeros(4))
    with pytest.raises(DataError, match=r"same number of rows .* 'x' \(x\.npy\): 5, 'y' \(y\.npy\): 4"):
        open_source({"format": "npy", "arrays": {"x": "x.npy", "y": "y.npy"}}, tmp_path)


def test_npy_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        open_source({"format": "npy", "arrays": {"o": "o.npy"}}, tmp_path)


def test_a_null_in_a_parquet_int_column_is_a_bad_row(tmp_path):
    import pyarrow
    import pyarrow.parquet

    table = pyarrow.table({"n": pyarrow.array([1, None, 3], pyarrow.int64())})
    pyarrow.parquet.write_table(table, tmp_path / "n.parquet")
    source = open_source({"format": "parquet", "path": "n.parquet"}, tmp_path)
    with pytest.raises(DataError, match=r"n\.parquet:row 2: column 'n': missing value in a column of type int64;"):
        _read(source)
    assert _read(source, on_bad_rows="skip")["n"].tolist() == [1, 3]
    assert source.locate(2) == (tmp_path / "n.parquet", 3)  # the second example is the third row


def test_a_source_that_breaks_the_schema_lists_every_problem():
    with pytest.raises(SpecError) as caught:
        open_source({"format": "csv", "path": "x.csv", "heder": True, "delimiter": ""}, Path("."))
    assert str(caught.value).splitlines() == [
        "data source: $.data.source.delimiter: the value is empty; write a non-empty string",
        "data source: $.data.source.heder: unknown key 'heder'. Allowed keys: 'column_names', 'column_types', "
        "'delimiter', 'format', 'header', 'na_values' or 'path'. Did you mean 'header'?",
    ]
    with pytest.raises(SpecError) as caught:
        open_source({"format": "parquett", "path": "x"}, Path("."))
    assert str(caught.value) == ("data source: $.data.source.format: 'parquett' is not a known source format. "
                                 "Expected one of 'csv', 'tsv', 'parquet', 'npy', 'npz', 'image_folder', "
                                 "'text_folder' or 'tfrecord'. Did you mean 'parquet'?")
    with pytest.raises(SpecError, match=r"^data source: \$\.data\.source: missing required key 'path' "):
        open_source({"format": "csv"}, Path("."))


def test_gzip_tfrecord_read_without_compression_is_a_data_error(tmp_path):
    with gzip.open(tmp_path / "r.tfrecord", "wb") as handle:
        handle.write(b"not records at all" * 10)
    source = open_source({"format": "tfrecord", "path": "r.tfrecord", "schema": {"x": {"dtype": "int64"}}}, tmp_path)
    with pytest.raises(DataError, match=r"r\.tfrecord: cannot be read as TFRecord records with compression 'none'"):
        _read(source)
