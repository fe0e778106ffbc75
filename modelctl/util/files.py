"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from modelctl.errors import UsageError


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed over `path` when the block ends without an error,
    removed otherwise, so a reader never sees half a file.

    Args:
        path: the final path.
        suffix: the temporary file's suffix (some writers choose the format from it, such as `.keras`).

    Raises:
        UsageError: the folder does not exist or cannot be written.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{path}: the folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    except OSError as error:
        raise UsageError(f"{path}: cannot write in {folder}: {error.strerror}") from None
    os.close(handle)
    try:
        yield Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot be written: {error.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename.

    Raises:
        UsageError: the folder does not exist or cannot be written.
    """
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def copy_atomic(source: str | Path, path: str | Path) -> None:
    """Copy the file `source` to `path` through a temporary file in `path`'s folder and a rename.

    Raises:
        UsageError: the folder does not exist or cannot be written.
    """
    with atomic_path(path, suffix=Path(path).suffix) as temporary:
        shutil.copyfile(source, temporary)
