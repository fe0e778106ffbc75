"""Folders with one sub-folder per class: images (read later, by path) and text files (read here).

    flowers/            <- `path`
      daisy/001.jpg     <- label 'daisy'
      rose/a/002.jpg    <- label 'rose' (files in deeper folders belong to the class folder above them)

Classes are the sub-folders in sorted order; files are listed by a sorted walk
of each class folder, keeping those whose extension (case-insensitive) is one
of `extensions`. Names starting with `.` are hidden and skipped; files directly
inside `path` belong to no class and are not read.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import BadRows, Source


PART_FILES = 64
"""Files of one part (`parts`): a streamed epoch reads the parts in a permuted order, so that a folder listed
class after class is mixed by the shuffle window."""


class _FolderSource(Source):
    """The examples of a class-per-sub-folder tree: (file, label) pairs in sorted order."""

    kind = ""
    value_column = ""

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        root = self.where
        if not root.is_dir():
            problem = "is a file" if root.exists() else "no such folder"
            raise DataError(f"{problem}; expected a folder with one sub-folder of {self.kind} files per class",
                            file=root)
        extensions = sorted({extension.lower().lstrip(".") for extension in options["extensions"]})
        classes = sorted(entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
        if not classes:
            raise DataError(f"has no sub-folders; expected one sub-folder of {self.kind} files per class",
                            file=root)
        self.labels: list[str] = []
        for folder in classes:
            found = _listed(folder.resolve(), extensions)
            self.files.extend(found)
            self.labels.extend([folder.name] * len(found))
        if not self.files:
            raise DataError(f"no {self.kind} file (extensions {', '.join(map(repr, extensions))}) in its "
                            f"sub-folders {', '.join(repr(folder.name) for folder in classes)}", file=root)
        self.columns = [self.value_column, "label"]

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(self.files), rows):
            files = self.files[start:start + rows]
            labels = self.labels[start:start + rows]
            keep = np.ones(len(files), dtype=bool)
            values = self.values(files, keep, bad) if self.value_column in names else None
            batch = {}
            for name in names:
                column = values if name == self.value_column else np.array(labels, dtype=object)
                batch[name] = column[keep]
            yield batch

    def values(self, files: list[Path], keep: np.ndarray, bad: BadRows) -> np.ndarray:
        """The value column of a group of files; sets `keep[i] = False` for a file that is skipped."""
        raise NotImplementedError

    def only(self, files, skip_rows: int = 0) -> "_FolderSource":
        view = super().only(files)
        label_of = dict(zip(self.files, self.labels))
        view.labels = [label_of[file] for file in view.files]
        return view

    def parts(self) -> list[tuple["_FolderSource", int]]:
        """Groups of `PART_FILES` consecutive files (one example each), when no file was skipped as read."""
        if self.skipped or len(self.files) <= PART_FILES:
            return []
        return [(self.only(self.files[start:start + PART_FILES]), len(self.files[start:start + PART_FILES]))
                for start in range(0, len(self.files), PART_FILES)]

    def count_rows(self) -> int:
        return len(self.files)

    def estimated_rows(self) -> int:
        return len(self.files)


def _listed(folder: Path, extensions: list[str]) -> list[Path]:
    """The files under `folder` with one of `extensions`, hidden names (and what hidden folders hold) left out, in
    the order of their paths' parts. Walked with `os.scandir`: an image folder may hold many thousands of files."""
    import os

    found: list[tuple[str, ...]] = []
    pending = [()]
    while pending:
        inside = pending.pop()
        with os.scandir(os.path.join(folder, *inside)) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    pending.append((*inside, entry.name))
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower().lstrip(".") in extensions:
                    found.append((*inside, entry.name))
    return [folder.joinpath(*parts) for parts in sorted(found)]


class ImageFolderSource(_FolderSource):
    """Images in a class-per-sub-folder tree; columns `image` (the file's resolved path, str) and `label`
    (the sub-folder's name, str). Images are decoded later, by the pipeline.

    Options (from the spec's `data.source`):
        path: the folder.
        extensions: file extensions read as images, case-insensitive; default `["png", "jpg", "jpeg", "bmp", "gif"]`.
    """

    format = "image_folder"
    kind = "image"
    value_column = "image"

    def values(self, files: list[Path], keep: np.ndarray, bad: BadRows) -> np.ndarray:
        return np.array([str(path) for path in files], dtype=object)


class TextFolderSource(_FolderSource):
    """Text files in a class-per-sub-folder tree; columns `text` (the file's content, str) and `label`
    (the sub-folder's name, str).

    Options (from the spec's `data.source`):
        path: the folder.
        extensions: file extensions read as text, case-insensitive; default `["txt"]`.
        encoding: the files' text encoding, any Python codec name; default `utf-8`. A file that cannot be
            decoded is a bad row.
    """

    format = "text_folder"
    kind = "text"
    value_column = "text"

    def __init__(self, options: dict, base_dir: Path):
        try:
            codecs.lookup(options["encoding"])
        except LookupError:
            raise DataError(f"`encoding` {options['encoding']!r} is not a known text encoding; expected a "
                            f"Python codec name such as 'utf-8', 'latin-1' or 'cp1252'",
                            file=Path(base_dir) / options["path"]) from None
        super().__init__(options, base_dir)
        self.encoding = options["encoding"]

    def values(self, files: list[Path], keep: np.ndarray, bad: BadRows) -> np.ndarray:
        texts = np.empty(len(files), dtype=object)
        for position, path in enumerate(files):
            try:
                texts[position] = path.read_bytes().decode(self.encoding)
            except UnicodeDecodeError as error:
                keep[position] = False
                bad.found(f"cannot be decoded as {self.encoding}: byte 0x{error.object[error.start]:02x} at "
                          f"offset {error.start} ({error.reason})", f"cannot be decoded as {self.encoding}",
                          path, row=None)
            except OSError as error:
                raise DataError(f"cannot be read: {error.strerror}", file=path) from None
        return texts
