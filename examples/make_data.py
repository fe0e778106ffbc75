"""Write the example data sets from the tables scikit-learn ships on disk (no download).

    python examples/make_data.py

Writes, beside this script:
  iris/iris.csv                      150 flowers, 4 measurements, 3 species
  breast_cancer/breast_cancer.csv    569 tumours, 30 measurements, benign or malignant
  diabetes/diabetes.csv              442 patients, 10 measurements, disease progression after a year
  wine/wine.csv                      178 wines, 13 measurements, 3 cultivars
  digits/digits.csv                  1797 8x8 handwritten digits as 64 pixel columns (0-16)
  digits/images/<digit>/<n>.png      the same digits as 8-bit grayscale PNG files

The synthetic reviews of text/reviews.csv come from text/make_reviews.py.
"""

from __future__ import annotations

import csv
import re
import zlib
import struct
from pathlib import Path

import numpy as np
from sklearn import datasets

HERE = Path(__file__).resolve().parent


def write_table(path: Path, columns: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def tables() -> None:
    iris = datasets.load_iris()
    species = iris.target_names
    write_table(HERE / "iris" / "iris.csv",
                ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"],
                ([*map(_number, map(float, row)), species[target]] for row, target in zip(iris.data, iris.target)))
    cancer = datasets.load_breast_cancer()
    names = [re.sub(r"\W+", "_", name).strip("_") for name in cancer.feature_names]
    write_table(HERE / "breast_cancer" / "breast_cancer.csv", [*names, "malignant"],
                ([*map(_number, map(float, row)), int(target == 0)] for row, target in zip(cancer.data, cancer.target)))
    diabetes = datasets.load_diabetes(scaled=False)
    write_table(HERE / "diabetes" / "diabetes.csv", [*diabetes.feature_names, "progression"],
                ([*map(_number, map(float, row)), _number(float(target))]
                 for row, target in zip(diabetes.data, diabetes.target)))
    wine = datasets.load_wine()
    write_table(HERE / "wine" / "wine.csv", [*wine.feature_names, "cultivar"],
                ([*map(_number, map(float, row)), f"cultivar_{target}"] for row, target in zip(wine.data, wine.target)))


def _png(pixels: np.ndarray) -> bytes:
    """A grayscale 8-bit PNG, written without an imaging library."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + bytes(row) for row in pixels.astype(np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def digits() -> None:
    data = datasets.load_digits()
    write_table(HERE / "digits" / "digits.csv", [*(f"pixel_{i}" for i in range(64)), "digit"],
                ([*(str(int(v)) for v in row), int(target)] for row, target in zip(data.data, data.target)))
    for index, (image, target) in enumerate(zip(data.images, data.target)):
        folder = HERE / "digits" / "images" / str(target)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:04d}.png").write_bytes(_png(np.round(image * 255 / 16)))


if __name__ == "__main__":
    tables()
    digits()
    print("wrote example data under", HERE)
