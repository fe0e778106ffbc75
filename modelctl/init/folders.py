"""Folders of images or texts, one sub-folder per class, as `modelctl init --data FOLDER` reads them, and the
spec drafted from them.

    profile = read_folder(Path("photos"))      # FolderProfile: format, classes and their counts, image size
    text = draft_folder_spec(profile, output=Path("spec.yaml"), command="modelctl init --data photos")

Image sizes and channels are read from the file headers (PNG, GIF, BMP, JPEG) by hand, so that `init` needs
no imaging library; the spec's `size` is the first image's, its longest side brought down to `MAX_SIDE`, and
its `channels` 1 when every image looked at (`CHANNEL_SAMPLE`) is grayscale, else 3. A horizontal flip is
offered as a comment only: it changes the class of digits, letters and most text.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

from modelctl.errors import UsageError
from modelctl.init.draft import flow, relative, size_for, spec_name

IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "gif")
TEXT_EXTENSIONS = ("txt",)
MAX_SIDE = 128
"""Longest side, in pixels, of the images a drafted spec resizes to."""

CHANNEL_SAMPLE = 50
"""Images whose headers are read to tell grayscale from colour."""


@dataclasses.dataclass
class FolderProfile:
    """A class-per-sub-folder tree.

    Attributes:
        path: the folder.
        format: `image_folder` or `text_folder`.
        classes: class (sub-folder) name -> files in it, sorted by name.
        size: for images, (height, width) the spec resizes to; else None.
        found: for images, the first image's (height, width); else None.
        channels: for images, 1 when the images looked at are grayscale, else 3; None for texts.
    """

    path: Path
    format: str
    classes: dict[str, int]
    size: tuple[int, int] | None = None
    found: tuple[int, int] | None = None
    channels: int | None = None

    @property
    def rows(self) -> int:
        return sum(self.classes.values())


def read_folder(path: Path) -> FolderProfile:
    """Count the images or texts of each class folder of `path`.

    Raises:
        UsageError: the folder holds fewer than two class folders with files, or neither images nor texts.
    """
    path = Path(path)
    files = {folder.name: [file for file in sorted(folder.rglob("*")) if file.is_file()
                           and not file.name.startswith(".")]
             for folder in sorted(path.iterdir()) if folder.is_dir() and not folder.name.startswith(".")}
    suffixes = [file.suffix.lower().lstrip(".") for found in files.values() for file in found]
    images = sum(suffix in IMAGE_EXTENSIONS for suffix in suffixes)
    texts = sum(suffix in TEXT_EXTENSIONS for suffix in suffixes)
    if not images and not texts:
        raise UsageError(f"{path}: --data takes a folder with one sub-folder of images (.png, .jpg, ...) or of "
                         ".txt files per class; found no such file in its sub-folders")
    kind, extensions = ("image_folder", IMAGE_EXTENSIONS) if images >= texts else ("text_folder", TEXT_EXTENSIONS)
    classes = {name: sum(file.suffix.lower().lstrip(".") in extensions for file in found)
               for name, found in files.items()}
    classes = {name: count for name, count in classes.items() if count}
    if len(classes) < 2:
        raise UsageError(f"{path}: {len(classes)} class folder{'s' if len(classes) != 1 else ''} with files; a "
                         "folder source needs one sub-folder per class, and at least two classes")
    profile = FolderProfile(path, kind, classes)
    if kind == "image_folder":
        first = next(file for found in files.values() for file in found
                     if file.suffix.lower().lstrip(".") in extensions)
        profile.found = image_size(first)
        height, width = profile.found
        scale = min(1.0, MAX_SIDE / max(height, width))
        profile.size = (max(8, round(height * scale)), max(8, round(width * scale)))
        images = [file for found in files.values() for file in found if file.suffix.lower().lstrip(".") in extensions]
        # A sample from every class, in turn: a class of colour images among grayscale ones is seen.
        sample = [file for group in zip(*(
            [file for file in found if file.suffix.lower().lstrip(".") in extensions] for found in files.values()
            if found)) for file in group][:CHANNEL_SAMPLE] or images[:CHANNEL_SAMPLE]
        profile.channels = 1 if all(image_channels(file) == 1 for file in sample) else 3
    return profile


def image_channels(file: Path) -> int | None:
    """1 for a grayscale PNG or JPEG (by its header), 3 for a colour one; None when the header does not say
    (GIF and BMP, whose palettes may hold colours)."""
    data = file.read_bytes()[:65536]
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 26:
        return 1 if data[25] in (0, 4) else 3  # colour types 0 and 4: gray, gray with alpha
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return 1 if data[index + 9] == 1 else 3  # the frame's number of components
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                index += 2
                continue
            index += 2 + struct.unpack(">H", data[index + 2:index + 4])[0]
    return None


def image_size(file: Path) -> tuple[int, int]:
    """(height, width) of a PNG, GIF, BMP or JPEG file, from its header.

    Raises:
        UsageError: the file is none of these, or its header is damaged.
    """
    data = file.read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return height, width
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return height, width
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(height), width
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return height, width
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                index += 2
                continue
            index += 2 + struct.unpack(">H", data[index + 2:index + 4])[0]
    raise UsageError(f"{file}: cannot read the image's size from its header (PNG, GIF, BMP or JPEG expected)")


def draft_folder_spec(profile: FolderProfile, output: Path, command: str) -> str:
    """The text of a spec for the folder of `profile`, to be written at `output`."""
    size = size_for(profile.rows)
    counts = ", ".join(f"{name} {count}" for name, count in profile.classes.items())
    what = "images" if profile.format == "image_folder" else "texts"
    lines = [
        "#",
        f"# Drafted by `{command}` from {profile.path.name}/: {profile.rows:,} {what} in {len(profile.classes)} "
        "classes,",
        f"# one sub-folder each ({counts}).",
        f"# Next: modelctl validate {output.name}, then modelctl train {output.name}.",
        "modelctl: 1",
        f"name: {flow(spec_name(profile.path))}",
        f"description: {flow(f'Classify {what} into {len(profile.classes)} classes.')}",
        "seed: 42",
        "data:",
        f"  source: {flow({'format': profile.format, 'path': relative(profile.path, output.parent)})}",
        "  features:",
    ]
    if profile.format == "image_folder":
        height, width = profile.size
        lines += ["    image:",
                  "      type: image",
                  f"      size: [{height}, {width}]" + (f"                    # the first image is "
                                                          f"{profile.found[0]}x{profile.found[1]}"
                                                          if profile.found != profile.size else ""),
                  f"      channels: {profile.channels}" + ("                                   # the images "
                                                              "are grayscale" if profile.channels == 1 else ""),
                  "      preprocessing: [{rescale: 0.00392156863}]    # 1/255: pixels in [0, 1]",
                  "      augmentation:                                 # training batches only",
                  "        - random_rotation: {factor: 0.05}",
                  "        # - random_flip: {mode: horizontal}      # only if a mirrored image keeps its class "
                  "(not digits or letters)"]
    else:
        lines += ["    text:",
                  "      type: text                     # TF-IDF weights of the words of each file",
                  "      column: text",
                  "      max_tokens: 10000",
                  "      output_mode: tf_idf"]
    lines += ["  labels:",
              f"    label: {{column: label, type: categorical, num_classes: {len(profile.classes)}}}  # the "
              "sub-folder names",
              "  split: " + flow({"train": size.split[0], "validation": size.split[1], "test": size.split[2],
                                  "stratify": True}),
              f"  batch_size: {min(size.batch_size, 32)}",
              "model:", "  layers:"]
    if profile.format == "image_folder":
        lines += ["    - conv2d: {filters: 32, kernel_size: 3, padding: same, activation: relu}",
                  "    - max_pooling2d: {pool_size: 2}",
                  "    - conv2d: {filters: 64, kernel_size: 3, padding: same, activation: relu}",
                  "    - max_pooling2d: {pool_size: 2}",
                  "    - conv2d: {filters: 128, kernel_size: 3, padding: same, activation: relu}",
                  "    - global_average_pooling2d",
                  "    - dropout: 0.3"]
    else:
        lines += [f"    - dense: {{units: {size.units[0]}, activation: relu}}", "    - dropout: 0.3"]
    lines += [f"    - dense: {{units: {len(profile.classes)}, activation: softmax}}", "      name: label",
              "training:", "  epochs: 100",
              f"  optimizer: {{type: adam, learning_rate: {0.001 if profile.format == 'image_folder' else 0.003}}}",
              "  loss: sparse_categorical_crossentropy", "  metrics: [accuracy]",
              "  early_stopping: {monitor: val_loss, patience: 8}   # stops when val_loss stalls, keeps the best epoch",
              "evaluation:", "  split: test", "export:",
              "  formats: [saved_model, tflite, onnx]              # modelctl train spec.yaml --export writes them"]
    return "\n".join(lines) + "\n"
