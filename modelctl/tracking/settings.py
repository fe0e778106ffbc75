"""Where a run is tracked: the spec's `tracking.mlflow` section and the `--track` / `--track-strict` options."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from modelctl.spec.typed import Spec

DEFAULT_URI = "sqlite:///mlflow.db"
"""The local store used when neither the spec nor $MLFLOW_TRACKING_URI names one: an SQLite file in the current
folder (recent MLflow releases refuse their older folder store)."""

TRACKERS = ("mlflow",)
"""The values `--track` takes."""


@dataclasses.dataclass(frozen=True)
class MlflowSettings:
    """Where and how runs are logged to MLflow.

    Args:
        uri: the tracking URI: `http(s)://host:port` of a tracking server, or a database such as
            `sqlite:///mlflow.db`.
        experiment: the MLflow experiment; created when missing.
        strict: True makes a server that cannot be reached, or a write it refuses, an error; default False: a
            warning, and `modelctl track RUN` uploads the run later.
    """

    uri: str
    experiment: str
    strict: bool = False

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def mlflow_settings(spec: Spec, *, track: str | None = None, strict: bool = False, uri: str | None = None,
                    experiment: str | None = None) -> MlflowSettings | None:
    """The MLflow settings of a run, or None when it is not tracked.

    A run is tracked when its spec has a `tracking.mlflow` section or `track` is `"mlflow"`. Each value comes
    from the first of: the argument, the spec's `tracking.mlflow`, the default (`uri`: $MLFLOW_TRACKING_URI,
    else `DEFAULT_URI`; `experiment`: the spec's name, else `modelctl`; `strict`: False).

    Args:
        spec: the loaded spec (`Document.spec`, or `modelctl.spec.typed.typed` of a run's spec.yaml).
        track: `--track`: None, or one of `TRACKERS`.
        strict: `--track-strict`; True overrides the spec's `strict: false`.
        uri: a tracking URI given on the command line; default None.
        experiment: an experiment given on the command line; default None.
    """
    written = spec.tracking.mlflow
    if written is None and track is None and not strict and uri is None:
        return None
    return MlflowSettings(
        uri=absolute_uri(uri or (written and written.uri) or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI),
        experiment=experiment or (written and written.experiment) or spec.name or "modelctl",
        strict=bool(strict or (written and written.strict)))


def absolute_uri(uri: str) -> str:
    """`uri` with the path of a relative SQLite file made absolute from the current folder
    (`sqlite:///mlflow.db` -> `sqlite:////home/me/project/mlflow.db`), so that the run folder's `mlflow.json`
    names the same store whatever folder `eval`, `export` or `track` run from later."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/") or uri[len(prefix):] in ("", ":memory:"):
        return uri
    path, _, query = uri[len(prefix):].partition("?")
    return prefix + str((Path.cwd() / path).resolve()) + (f"?{query}" if query else "")
