"""Files on object storage (`s3://`, `gs://`): listed, fingerprinted, copied here and back through fsspec.

    is_remote("s3://bucket/data/part-*.parquet")                 # True
    staged("s3://bucket/data/part-*.parquet", Path("~/.cache/modelctl/remote"))   # [local copies, in order]
    fingerprint("s3://bucket/data/part-0.parquet")               # ["s3://...", size, mtime_ns, etag]
    upload_folder(Path("runs/iris/x"), "s3://bucket/runs/iris/x")  # files that changed since the last upload

modelctl's readers (pyarrow for Parquet and CSV, TensorFlow for TFRecord, NumPy) and its run folders work on
local files. A remote data file is copied once into a staging folder, under a name made of its URL and its
quick fingerprint (the ETag object storage gives every object, or its size and modification time where there
is none), and read from there: a file that changes on the storage gets a new copy, one that does not is never
fetched again. A run folder on object storage is trained in a local folder and uploaded as it goes (see
`modelctl.training.remote`).

Credentials come from where each storage's own tools take them: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_PROFILE and AWS_ENDPOINT_URL (an S3-compatible server such as MinIO) for `s3://`;
GOOGLE_APPLICATION_CREDENTIALS or the machine's service account for `gs://`. fsspec's `s3fs` and `gcsfs` do
the talking; each comes with an extra (`modelctl[s3]`, `modelctl[gcs]`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from pathlib import Path

from modelctl.errors import ModelctlError
from modelctl.util.lazy import MissingExtra, installed

SCHEMES = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs")}
"""URL scheme -> (the fsspec package that reads it, the modelctl extra that installs it)."""
GLOB_CHARACTERS = "*?["
ORIGIN = ".modelctl-origin.json"
"""Beside each staged copy: the fingerprint of the object it is a copy of (`origin`)."""


class StorageError(ModelctlError):
    """Object storage that cannot be read or written: no such object, no credentials, a refused request.
    Exit code 1."""


def is_remote(path: str | Path) -> bool:
    """Whether `path` is a URL of object storage (`s3://`, `gs://`, `gcs://`, `s3a://`)."""
    text = str(path)
    scheme, separator, _ = text.partition("://")
    return bool(separator) and scheme.lower() in SCHEMES


def filesystem(url: str):
    """The fsspec file system of `url`'s scheme, with credentials from the environment.

    Raises:
        MissingExtra: the scheme's package (s3fs, gcsfs) is not installed.
    """
    scheme = url.partition("://")[0].lower()
    package, extra = SCHEMES[scheme]
    if not installed(package):
        raise MissingExtra(package, f"reading {scheme}:// paths", extra=extra)
    import fsspec

    options = {}
    if package == "s3fs" and os.environ.get("AWS_ENDPOINT_URL_S3", os.environ.get("AWS_ENDPOINT_URL")):
        # botocore reads it too; s3fs's own client is told it, for versions that do not.
        options["endpoint_url"] = os.environ.get("AWS_ENDPOINT_URL_S3", os.environ.get("AWS_ENDPOINT_URL"))
    return fsspec.filesystem("s3" if package == "s3fs" else "gcs", **options)


def _scheme(url: str) -> str:
    return url.partition("://")[0]


def _failed(error: BaseException, url: str, doing: str) -> StorageError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, FileNotFoundError):
        reason = "no such object"
    elif isinstance(error, PermissionError):
        reason = f"access denied ({reason}); check the credentials in the environment"
    return StorageError(f"{url}: cannot {doing}: {reason}")


def list_files(pattern: str) -> list[str]:
    """The objects `pattern` names: itself, or a glob's matches (`*`, `?`, `[...]`; `**` spans folders) sorted
    by URL.

    Raises:
        StorageError: nothing matches, the object does not exist, or the storage refused the listing.
    """
    fs = filesystem(pattern)
    scheme = _scheme(pattern)
    try:
        if any(character in pattern for character in GLOB_CHARACTERS):
            found = sorted(f"{scheme}://{match}" for match in fs.glob(pattern) if fs.isfile(match))
            if not found:
                raise StorageError(f"no object matches the pattern {pattern!r}")
            return found
        if not fs.isfile(pattern):
            raise StorageError(f"{pattern}: no such object (or it is a folder; give a file or a glob such as "
                               "part-*.parquet)")
        return [pattern]
    except StorageError:
        raise
    except Exception as error:  # botocore's and google's errors: credentials, endpoints, refused requests
        raise _failed(error, pattern, "list it") from None


def fingerprint(url: str) -> list:
    """[url, size, modification time (ns), ETag]: a fingerprint without reading the object; the ETag (None
    where the storage gives none) changes whenever the object's content does."""
    fs = filesystem(url)
    try:
        info = fs.info(url)
    except Exception as error:
        raise _failed(error, url, "read its details") from None
    modified = info.get("LastModified") or info.get("updated") or info.get("mtime")
    if hasattr(modified, "timestamp"):
        stamp = int(modified.timestamp() * 1e9)
    else:
        try:
            import datetime

            stamp = int(datetime.datetime.fromisoformat(str(modified).replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            stamp = 0
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    return [url, int(info.get("size") or 0), stamp, str(etag).strip('"') if etag else None]


def staged(pattern: str, folder: Path) -> list[Path]:
    """Local copies of the objects `pattern` names (see `list_files`), in its order, fetched into `folder`
    unless a copy of the same object at the same fingerprint is there already.

    Raises:
        StorageError: see `list_files`; a copy that cannot be fetched.
    """
    fs = filesystem(pattern)
    copies = []
    for url in list_files(pattern):
        _, size, modified, etag = fingerprint(url)
        key = hashlib.sha256(f"{url}\0{etag or ''}\0{size}\0{modified if etag is None else ''}".encode())
        target = Path(folder).expanduser() / key.hexdigest()[:24] / url.rsplit("/", 1)[-1]
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            try:
                fs.get_file(url, str(partial))
            except Exception as error:
                raise _failed(error, url, "fetch it") from None
            os.replace(partial, target)
            (target.parent / ORIGIN).write_text(json.dumps([url, size, modified, etag]), encoding="utf-8")
        copies.append(target.resolve())
    return copies


def origin(path: Path) -> list | None:
    """The fingerprint (`fingerprint`) of the object `path` is a staged copy of; None for any other file."""
    marker = Path(path).parent / ORIGIN
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def join(url: str, *parts: str) -> str:
    """`url` with `parts` appended, separated by `/`."""
    return "/".join([url.rstrip("/"), *(part.strip("/") for part in parts)])


def download_folder(url: str, folder: Path) -> bool:
    """Copy every object under `url/` into `folder` (made when missing); False when there is none."""
    fs = filesystem(url)
    prefix = url.rstrip("/") + "/"
    try:
        found = [f"{_scheme(url)}://{path}" for path in fs.find(prefix)]
    except FileNotFoundError:
        return False
    except Exception as error:
        raise _failed(error, url, "list it") from None
    for remote in found:
        target = Path(folder) / remote[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get_file(remote, str(target))
        except Exception as error:
            raise _failed(error, remote, "fetch it") from None
    return bool(found)


def upload_folder(folder: Path, url: str, *, sent: dict | None = None, skip: tuple[str, ...] = ()) -> dict:
    """Copy the files under `folder` to `url/...`, those that changed since `sent` (path -> (size, mtime_ns), as
    returned by the previous call); returns the new `sent`. `skip`: glob patterns of relative paths left out."""
    fs = filesystem(url)
    sent = dict(sent or {})
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        if any(fnmatch.fnmatch(relative, pattern) for pattern in skip):
            continue
        stat = path.stat()
        if sent.get(relative) == (stat.st_size, stat.st_mtime_ns):
            continue
        try:
            fs.put_file(str(path), join(url, relative))
        except Exception as error:
            raise _failed(error, join(url, relative), "write it") from None
        sent[relative] = (stat.st_size, stat.st_mtime_ns)
    return sent

