"""Image features: an image file per example, decoded and resized.

    features:
      photo: {type: image, column: image, size: [64, 64], channels: 3, preprocessing: [{rescale: 0.00392157}]}

The column holds file paths; each file is decoded with Pillow and resized
(bilinear) to `size`, giving float32 (height, width, channels) pixels in
[0, 255], several files at once. The data pipeline keeps them as uint8, which
holds decoded pixels exactly in a quarter of the memory (`encode_held`).
Inside the model a `NumericPreprocessing` layer named `<name>_preprocess`
applies the `preprocessing` steps (rescale), then the `augmentation` layers.
`predict` reads image files as one example each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features import numeric_steps as numeric
from modelctl.features.base import FeatureType, Fit, InputSpec, SourceView, augmentation_property, \
    one_column
from modelctl.features.numeric import preprocessing_steps
from modelctl.registry import args
from modelctl.registry.schema_parts import keyed_steps

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif"})
"""The files `predict` reads as images."""


class ImageFeature(FeatureType):
    """An image file per example; see the module docstring."""

    name = "image"
    description = "An image file, decoded and resized."
    documents = EXTENSIONS
    document_noun = "an image"
    documents_noun = "images"
    reads_named_files = True
    held_dtype = "uint8"

    def schema(self) -> dict:
        return {
            "size": args.integers("Height and width images are resized to.", length=2, minimum=1),
            "channels": args.choice([1, 3, 4], "Color channels after decoding.", 3),
            "preprocessing": keyed_steps({"rescale": preprocessing_steps()["rescale"]}, "preprocessing step",
                                         "Steps applied in order after decoding and resizing."),
            "augmentation": augmentation_property(),
        }

    def fitter(self, item) -> Fit:
        return Fit(item, self.spec_entry)

    def spec_entry(self, item) -> dict:
        options = self.with_defaults(item.options)
        return {"type": "image", "column": item.columns[0], "size": list(options["size"]),
                "channels": options["channels"],
                "steps": numeric.fit_numeric({"preprocessing": options.get("preprocessing")}, 1, lambda: iter(())),
                "augmentation": options.get("augmentation") or []}

    def encode(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        # `feature` is the fitted entry, or the spec's options before fitting.
        return decode_images(one_column(batch, item), feature["size"], self.with_defaults(feature)["channels"],
                             on_bad=on_bad_rows, skipped=skipped)

    def encode_held(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        return decode_images(one_column(batch, item), feature["size"], self.with_defaults(feature)["channels"],
                             on_bad=on_bad_rows, skipped=skipped, dtype="uint8")

    def spec_fitted(self, name: str, options: dict, source: SourceView) -> tuple[dict, str]:
        options = self.with_defaults(options)
        return {"type": self.name, "size": list(options["size"]), "channels": options["channels"]}, ""

    def model_input(self, name: str, fitted: dict):
        return InputSpec(name, (*fitted["size"], fitted["channels"]))

    def raw_shape(self, fitted: dict) -> tuple[tuple, str]:
        height, width = fitted["size"]
        return (height, width, fitted["channels"]), "float32"

    def layers(self, name: str, fitted: dict, seed: int = 0) -> list:
        from modelctl.features.layers import NumericPreprocessing, augmentation_layers

        return [NumericPreprocessing(fitted["steps"], None, name=f"{name}_preprocess")] \
            + augmentation_layers(name, fitted.get("augmentation") or [], seed)

    def read_document(self, path: Path) -> str:
        """The file's path: `encode` decodes it."""
        return str(path)

    def describe(self, fitted: dict, summary: dict | None = None) -> dict:
        return {"column": fitted["column"], "size": fitted["size"], "channels": fitted["channels"],
                "augmentation": [next(iter(item)) for item in fitted.get("augmentation") or []]}

    def preview(self, fitted: dict, values: np.ndarray) -> np.ndarray:
        return numeric.apply_numeric(fitted["steps"], values.reshape(len(values), -1))

    def attributions(self, attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
        """`{"kind": "pixels", "total": 0.4, "pixels": [[...], ...]}`: each pixel's attribution, summed over its
        channels."""
        attributions = np.asarray(attributions, dtype=np.float64)
        pixels = attributions.reshape(attributions.shape[0], attributions.shape[1], -1).sum(axis=2)
        return {"kind": "pixels", "total": float(attributions.sum()),
                "pixels": [[float(value) for value in row] for row in pixels]}


def decode_images(paths: np.ndarray, size: Sequence[int], channels: int, *, on_bad: str,
                  skipped: dict[str, int], dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Decode and resize image files (bilinear) to pixels in [0, 255], on every core.

    Pillow releases the GIL while it decodes and resizes, so a few threads decode at once; the images, the
    errors and the counts are the same as one after another.

    Args:
        paths: file paths, one per example.
        size: (height, width).
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        on_bad: `error` raises on a file that cannot be decoded (the first such file of `paths`); `skip` drops
            it and counts it in `skipped`.
        dtype: `float32` (default) or `uint8`: decoded pixels are whole numbers from 0 to 255, which uint8 holds
            exactly in a quarter of the memory.

    Returns:
        (images of shape (n, height, width, channels), zeros where a file was skipped; boolean mask of the
        decoded examples).
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    height, width = size
    images = np.zeros((len(paths), height, width, channels), dtype=dtype)
    problems: dict[int, str] = {}
    listed = paths.tolist()
    workers = max(1, min(os.cpu_count() or 1, DECODE_THREADS, len(listed) // MIN_IMAGES_A_THREAD))

    def decode(positions: range) -> None:
        for position in positions:
            problem = _decode_into(images, position, listed[position], channels=channels)
            if problem is not None:
                problems[position] = problem

    if workers == 1:
        decode(range(len(listed)))
    else:
        bounds = np.linspace(0, len(listed), workers + 1).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(decode, [range(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]))
    keep = np.ones(len(listed), dtype=bool)
    for position in sorted(problems):
        if on_bad == "error":
            raise DataError(f"cannot be decoded as an image: {problems[position]}", file=listed[position])
        keep[position] = False
        skipped["image cannot be decoded"] = skipped.get("image cannot be decoded", 0) + 1
    return images, keep


DECODE_THREADS = 8
"""Most threads decoding images at once (no more than the machine's cores)."""

MIN_IMAGES_A_THREAD = 16
"""Fewest images a decoding thread is given: below it, starting threads costs more than it saves."""


def _decode_into(images: np.ndarray, position: int, path: str, *, channels: int) -> str | None:
    """Decode the image at `path` into `images[position]`; the reason it cannot be decoded, or None."""
    from PIL import Image, UnidentifiedImageError

    height, width = images.shape[1:3]
    try:
        with Image.open(path) as image:
            picture = image.convert({1: "L", 3: "RGB", 4: "RGBA"}[channels])
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.BILINEAR)
            images[position] = np.asarray(picture).reshape(height, width, channels)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return str(error)
    return None


__all__ = ["EXTENSIONS", "ImageFeature", "decode_images"]
