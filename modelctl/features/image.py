"""Image features: an image file per example, decoded and resized.

    features:
      photo: {type: image, column: image, size: [64, 64], channels: 3, preprocessing: [{rescale: 0.00392157}]}

The column holds file paths; each file is decoded with Pillow and resized
(bilinear) to `size`, giving float32 (height, width, channels) pixels in
[0, 255]. Inside the model a `NumericPreprocessing` layer named
`<name>_preprocess` applies the `preprocessing` steps (rescale), then the
`augmentation` layers. `predict` reads image files as one example each.
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
                  skipped: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Decode and resize image files (bilinear) to float32 pixels in [0, 255].

    Args:
        paths: file paths, one per example.
        size: (height, width).
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        on_bad: `error` raises on a file that cannot be decoded; `skip` drops it and counts it in `skipped`.

    Returns:
        (images of shape (n, height, width, channels), zeros where a file was skipped; boolean mask of the
        decoded examples).
    """
    from PIL import Image, UnidentifiedImageError

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    height, width = size
    images = np.zeros((len(paths), height, width, channels), dtype=np.float32)
    keep = np.ones(len(paths), dtype=bool)
    for position, path in enumerate(paths.tolist()):
        try:
            with Image.open(path) as image:
                picture = image.convert(mode)
                if picture.size != (width, height):
                    picture = picture.resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(picture, dtype=np.float32)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            if on_bad == "error":
                raise DataError(f"cannot be decoded as an image: {error}", file=path) from None
            keep[position] = False
            skipped["image cannot be decoded"] = skipped.get("image cannot be decoded", 0) + 1
            continue
        images[position] = pixels.reshape(height, width, channels)
    return images, keep


__all__ = ["EXTENSIONS", "ImageFeature", "decode_images"]
