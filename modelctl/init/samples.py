"""Made-up data in the shape each template expects, written beside a spec by `modelctl init`, so that the
spec validates and trains as written before the user points it at real data.

    written = write_sample(template="tabular-classifier", source={"format": "csv", "path": "data.csv"},
                           folder=Path("."))    # Path("data.csv"), or None when it already exists

The rows follow simple rules (a class from two thresholds, a target from a sum, a sentiment from its
words, an image's class from its brightness), so a trained model does better than chance and the
user sees the whole loop work. The values come from a seeded generator: the same every time.
Images are written as PNG by hand (zlib and a CRC) to keep `init` free of imaging libraries.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import zlib
from pathlib import Path
from typing import Callable

ROWS = 200
"""Rows of a sample table (or of texts)."""

IMAGES_PER_CLASS = 24
"""Images written per class of an image sample."""

IMAGE_SIZE = 32
"""Width and height of the sample images, in pixels (the spec's `size` resizes them)."""


def _tabular_classifier(rng: random.Random) -> list[list]:
    rows = [["age", "income", "city", "label"]]
    for index in range(ROWS):
        age, income = rng.randint(18, 79), rng.gauss(50, 15)
        label = ["low", "mid", "high"][int(age > 45) + int(income > 55)]
        # A few empty incomes show the template's `missing: {strategy: median}` at work.
        rows.append([age, "" if index % 40 == 7 else f"{income:.2f}", rng.choice(["oslo", "paris", "rome"]), label])
    return rows


def _tabular_regression(rng: random.Random) -> list[list]:
    rows = [["x1", "x2", "x3", "target"]]
    for _ in range(ROWS):
        x = [rng.uniform(-1, 1) for _ in range(3)]
        rows.append([f"{value:.4f}" for value in x] + [f"{2 * x[0] - x[1] + 0.5 * x[2] + rng.gauss(0, 0.1):.4f}"])
    return rows


GOOD = ["great", "lovely", "excellent", "fun", "moving", "brilliant", "charming", "superb"]
BAD = ["dull", "awful", "boring", "clumsy", "tedious", "weak", "messy", "flat"]
FILLER = ["the", "film", "plot", "was", "and", "acting", "story", "a", "really", "quite", "ending", "cast"]


def _texts(rng: random.Random) -> list[list]:
    rows = [["text", "label"]]
    for index in range(ROWS):
        label = "positive" if index % 2 == 0 else "negative"
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 14))]
        for _ in range(2):
            words.insert(rng.randrange(len(words) + 1), rng.choice(GOOD if label == "positive" else BAD))
        rows.append([" ".join(words), label])
    return rows


TABLES: dict[str, Callable[[random.Random], list[list]]] = {
    "tabular-classifier": _tabular_classifier,
    "tabular-regression": _tabular_regression,
    "text-lstm": _texts,
    "text-transformer": _texts,
}
"""Template -> the rows of its sample table, header first."""

IMAGE_TEMPLATES = ("image-cnn", "transfer-mobilenet")
"""Templates whose sample is a folder of images, one sub-folder per class."""


def write_sample(template: str, source: dict, folder: Path) -> Path | None:
    """Write the sample data of `template` where `source` (the spec's `data.source`) reads it.

    Args:
        template: the template's name.
        source: the template's `data.source`; its `path` is relative to `folder`.
        folder: the spec's folder.

    Returns:
        The file or folder written; None when something already exists at that path (it is left alone) or
        the template has no sample.
    """
    target = Path(folder) / source["path"]
    if target.exists():
        return None
    rng = random.Random(42)
    if template in TABLES:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(TABLES[template](rng))
        target.write_text(buffer.getvalue(), encoding="utf-8")
        return target
    if template in IMAGE_TEMPLATES:
        for label, level in (("dark", 60), ("light", 190)):
            (target / label).mkdir(parents=True)
            for index in range(IMAGES_PER_CLASS):
                pixels = [[[max(0, min(255, level + rng.randint(-50, 50))) for _ in range(3)]
                           for _ in range(IMAGE_SIZE)] for _ in range(IMAGE_SIZE)]
                (target / label / f"{label}_{index:02d}.png").write_bytes(png(pixels))
        return target
    return None


def png(pixels: list[list[list[int]]]) -> bytes:
    """An 8-bit RGB PNG of `pixels` (rows of [r, g, b] values in 0-255)."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(value for pixel in row for value in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + \
        chunk(b"IEND", b"")
