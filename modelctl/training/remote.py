"""Run folders on object storage: trained in a local copy, uploaded after every epoch and at the end.

    with remote_run("s3://bucket/runs/iris/main") as (local, uploader):   # its objects, copied here first
        train_or_resume(document, local, console, extra_callbacks=[uploader])

A run whose `--run-dir` (or `--output`) is `s3://...` or `gs://...` trains as any other, in a local folder
that mirrors it (under the cache folder's `remote-runs/`); what the run holds is downloaded into it first, so
that `--resume-if-exists` continues a run another machine started. After every completed epoch the files that
changed (history, checkpoints, run.json) are uploaded, so that a restart on another machine resumes from the
same epoch; the final model, metrics and plots at the end. Only the chief of a multi-worker run uploads: the
other workers write temporary copies of their own. The storage layer is `modelctl.util.storage`.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import shutil
from pathlib import Path

import keras

from modelctl.util.storage import download_folder, join, upload_folder


class Uploader(keras.callbacks.Callback):
    """Uploads the run folder's changed files to object storage after every epoch, and on `finish()`.

    Args:
        folder: the local run folder.
        url: where it is kept on object storage.
        active: whether this process uploads (the chief of a multi-worker run, or a run of one process).
    """

    def __init__(self, folder: Path, url: str, *, active: bool):
        super().__init__()
        self.folder, self.url, self.active = Path(folder), url, active
        self.sent = _listing(self.folder)  # what was downloaded is on the storage already

    def on_epoch_end(self, epoch, logs=None):
        self.finish()

    def finish(self) -> None:
        if self.active and self.folder.is_dir():
            # Temporary files of an atomic write in progress are left out.
            self.sent = upload_folder(self.folder, self.url, sent=self.sent, skip=("*.tmp*", ".*"))


def _listing(folder: Path) -> dict:
    return {path.relative_to(folder).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()} if folder.is_dir() else {}


def mirror_folder(url: str) -> Path:
    """The local folder that mirrors run folder `url` in this process: the cache folder's
    `remote-runs/<digest of url>-<process id>/run` (each worker of a multi-worker run on one machine has its
    own)."""
    from modelctl.data.cache import default_folder

    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    return default_folder() / "remote-runs" / f"{digest}-{os.getpid()}" / "run"


def new_run_url(output: str, name: str) -> str:
    """`output/name/<timestamp>`, as `create_run_dir` names a local run (on object storage nothing is made
    until the first upload)."""
    return join(output, name, datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))


def uploads_here() -> bool:
    """Whether this process uploads the run: it is the chief of the multi-worker cluster TF_CONFIG describes, or
    there is none."""
    from modelctl.training.cluster import is_chief
    from modelctl.training.hardware import parse_tf_config

    cluster = parse_tf_config(os.environ.get("TF_CONFIG"))
    return cluster is None or cluster.workers <= 1 or is_chief(cluster)


@contextlib.contextmanager
def remote_run(url: str):
    """Yield `(local folder, Uploader)` for run folder `url`: the local mirror holds what `url` holds (nothing for
    a new run); the uploader's `finish()` is called at the end, whatever ended the run."""
    local = mirror_folder(url)
    shutil.rmtree(local.parent, ignore_errors=True)  # what an earlier process of this id left
    local.mkdir(parents=True)
    try:
        download_folder(url, local)
        uploader = Uploader(local, url, active=uploads_here())
        try:
            yield local, uploader
        finally:
            uploader.finish()
    finally:
        shutil.rmtree(local.parent, ignore_errors=True)
