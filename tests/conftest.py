"""Shared fixtures. TensorFlow is imported only by the tests that need it."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(__file__).resolve().parent / "specs"
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def iris_data(split: str = "{train: 0.7, validation: 0.15, test: 0.15, stratify: true}", batch_size: int = 16) -> str:
    """The `data` section of a spec that trains on examples/iris/iris.csv: four standardized measurements, the
    species as a categorical label."""
    return f"""data:
  source: {{format: csv, path: {ROOT / 'examples' / 'iris' / 'iris.csv'}}}
  features:
    x: {{type: numeric, columns: [{', '.join(IRIS_COLUMNS)}], preprocessing: [standardize]}}
  labels:
    species: {{column: species, type: categorical}}
  split: {split}
  batch_size: {batch_size}"""


@pytest.fixture(scope="session", autouse=True)
def data_cache_folder(tmp_path_factory):
    """Prepared data is cached in a temporary folder (never the user's cache), for commands run in-process and
    as subprocesses alike."""
    folder = tmp_path_factory.mktemp("modelctl-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELCTL_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def fresh_keras_state():
    """Keras's global state (layer names, the graph of every model built) is cleared after each test that used
    it: a suite that builds thousands of models in one process otherwise slows down test after test. Without
    the full garbage collection `clear_session` runs by default (about 0.2 s a test, half the suite's time):
    Python's own collector frees the models as it goes."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)


@pytest.fixture
def write_spec(tmp_path):
    """Write YAML text to a spec file in a temporary folder and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@dataclasses.dataclass
class Files:
    root: Path
    iris: object
    wine: object
    cancer: object
    diabetes: object
    digits: object


def write_table(path: Path, header: list[str], columns: list[list[str]], delimiter: str = ",") -> None:
    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(row) for row in zip(*columns)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _texts(values) -> list[str]:
    return [repr(float(value)) if isinstance(value, (float, np.floating)) else str(value) for value in values]


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Files:
    """The scikit-learn tables written in every format, once per test session."""
    from sklearn import datasets

    root = tmp_path_factory.mktemp("sources")
    iris, wine = datasets.load_iris(), datasets.load_wine()
    cancer, diabetes = datasets.load_breast_cancer(), datasets.load_diabetes(scaled=False)
    digits = datasets.load_digits()

    species = iris.target_names[iris.target]
    write_table(root / "iris.csv", [*IRIS_COLUMNS, "species"], [*map(_texts, iris.data.T), list(species)])

    wine_names = [name.replace("/", "_") for name in wine.feature_names]
    write_table(root / "wine.tsv", [*wine_names, "cultivar"], [*map(_texts, wine.data.T), _texts(wine.target)],
                 delimiter="\t")

    (root / "cancer").mkdir()
    cancer_names = [f"c{index}" for index in range(cancer.data.shape[1])]
    for part, rows in (("part-1.csv", slice(0, 300)), ("part-2.csv", slice(300, None))):
        write_table(root / "cancer" / part, [*cancer_names, "target"],
                     [*map(_texts, cancer.data[rows].T), _texts(cancer.target[rows])])
    (root / "cancer" / "notes.txt").write_text("not a part\n")

    import pyarrow
    import pyarrow.parquet

    table = pyarrow.table({**{name: diabetes.data[:, index] for index, name in enumerate(diabetes.feature_names)},
                           "progression": diabetes.target,
                           "visit": np.arange(len(diabetes.target), dtype=np.int32),
                           "group": pyarrow.array([None if i % 7 == 0 else f"g{i % 3}"
                                                   for i in range(len(diabetes.target))])})
    pyarrow.parquet.write_table(table, root / "diabetes.parquet", row_group_size=100)

    (root / "digits").mkdir()
    np.save(root / "digits" / "pixels.npy", digits.data)
    np.save(root / "digits" / "images.npy", digits.images)
    np.save(root / "digits" / "digit.npy", digits.target)
    np.savez(root / "digits.npz", images=digits.images, digit=digits.target)
    np.savez_compressed(root / "digits-compressed.npz", images=digits.images, digit=digits.target,
                        fortran=np.asfortranarray(digits.data))

    from PIL import Image

    for digit in (0, 1, 2):
        folder = root / "images" / str(digit)
        folder.mkdir(parents=True)
        for index in np.flatnonzero(digits.target == digit)[:4]:
            pixels = np.round(digits.images[index] * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{index:04d}.png")
        (folder / "readme.md").write_text("not an image")
    (root / "images" / "stray.png").write_bytes(b"")

    for label, texts in (("neg", ["dull and slow", "I left early.", "never again"]),
                         ("pos", ["a delight", "Große Freude — wunderbar!", "loved it", "five stars"])):
        folder = root / "reviews" / label
        folder.mkdir(parents=True)
        for index, text in enumerate(texts):
            (folder / f"{index}.txt").write_text(text, encoding="utf-8")
    return Files(root, iris, wine, cancer, diabetes, digits)


def quiet_console():
    """A rich Console whose output is dropped, for code that prints progress."""
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), width=120)
