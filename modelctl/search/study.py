"""The Optuna study of a search: where it is stored, its sampler and pruner, creating it or joining it.

Storage is Optuna's, chosen by `--storage`:

- none (the default): a journal file, `runs/NAME/search/STUDY/journal.log`. Several processes on one machine
  share it (file locks), which is how `--workers K` runs K trials at once, and `--resume` continues it.
- `postgresql://USER@HOST/DB` or `mysql+pymysql://...`: a database that workers on several machines share.
  Trials whose worker stops sending heartbeats (killed, machine lost) are marked failed after two minutes.
- `sqlite:///FILE`: one worker only. SQLite locks the whole file for every write, so concurrent workers fail
  with "database is locked"; a journal file or PostgreSQL serves several.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from modelctl.errors import ModelctlError, UsageError
from modelctl.registry.search import PRUNERS, SAMPLERS
from modelctl.spec.search import goal
from modelctl.spec.typed import Search

JOURNAL_FILE = "journal.log"

DATABASE_SCHEMES = ("postgresql", "mysql", "sqlite")
OPEN_ATTEMPTS = 3
"""Tries at opening a database storage before its error is reported."""


class SearchError(ModelctlError):
    """A search that cannot start or continue: a study that exists or does not, a storage that cannot be used, an
    interrupted worker. Exit code 1, or that of the interruption (128 + signal)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a search worker needs to know, all plain values (it travels to worker processes as JSON).

    Args:
        spec: the spec file.
        overrides: `--set` arguments, applied to every trial before its parameters.
        output: the folder runs go in (`runs`).
        study: the study's name.
        folder: the study's folder, `output/NAME/search/STUDY`.
        storage: the storage URL; None for the journal file in `folder`.
        trials: trials to complete.
        cache_dir: the prepared-data cache folder; None for the default.
        use_cache: whether the prepared-data cache is used.
        folds: each trial's metric is the mean over this many folds of k-fold cross-validation; None trains once.
        tracking: where each trial is also logged to MLflow (`MlflowSettings.as_dict()`); None: nowhere.
        tracking_parent: the MLflow run of the whole search, whose child runs the trials are; None: none.
    """

    spec: str
    overrides: tuple
    output: str
    study: str
    folder: str
    storage: str | None
    trials: int
    cache_dir: str | None = None
    use_cache: bool = True
    folds: int | None = None
    tracking: dict | None = None
    tracking_parent: str | None = None

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "overrides": list(self.overrides)}

    @classmethod
    def from_dict(cls, values: dict) -> "Settings":
        return cls(**{**values, "overrides": tuple(values["overrides"])})


def check_storage(url: str | None, workers: int) -> None:
    """Refuse a storage that cannot serve `workers` processes, or that Optuna cannot open.

    Raises:
        UsageError: SQLite with more than one worker, or a URL of an unknown kind.
    """
    if url is None:
        return
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme not in DATABASE_SCHEMES:
        raise UsageError(f"--storage {shown_url(url)}: expected a database URL, postgresql://USER:PASSWORD@HOST/DB "
                         "or mysql+pymysql://USER:PASSWORD@HOST/DB (or leave it out for a journal file in the "
                         "study's folder)")
    if scheme == "sqlite" and workers > 1:
        raise UsageError(f"--storage {url} with --workers {workers}: SQLite locks the whole database for every "
                         "write, so concurrent workers fail with 'database is locked' and lose trials. Leave "
                         "--storage out (a journal file in the study's folder serves several workers on one "
                         "machine) or use PostgreSQL or MySQL (several machines)")


def shown_url(url: str | None) -> str:
    """The storage as messages and search.json show it: a database URL without its password."""
    if url is None:
        return JOURNAL_FILE
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def storage(settings: Settings):
    """The Optuna storage of the search (see the module docstring)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if settings.storage is None:
        Path(settings.folder).mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(Path(settings.folder) / JOURNAL_FILE)))
    from modelctl.search.liveness import GRACE_SECONDS, HEARTBEAT_SECONDS, retry_callback

    # A trial whose worker stops beating is failed, and its parameters tried again (`liveness`).
    heartbeat = {} if not has_heartbeat(settings) else \
        {"heartbeat_interval": HEARTBEAT_SECONDS, "grace_period": GRACE_SECONDS,
         "failed_trial_callback": retry_callback()}
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats
                return optuna.storages.RDBStorage(settings.storage, **heartbeat)
        except ImportError as error:
            raise SearchError(f"--storage {shown_url(settings.storage)}: the database driver is not installed "
                              f"({error}); pip install 'modelctl[search]'") from None
        except Exception as error:  # SQLAlchemy's errors: unreachable server, bad password, no such database
            if attempt + 1 < OPEN_ATTEMPTS:
                # Workers that start together on an empty database race to create Optuna's tables; the loser
                # finds them made when it tries again.
                time.sleep(1 + attempt)
                continue
            raise SearchError(f"--storage {shown_url(settings.storage)}: cannot open the database: "
                              f"{str(error).splitlines()[0]}") from None


def has_heartbeat(settings: Settings) -> bool:
    """Whether the search's storage keeps Optuna's own trial heartbeats: a database other than SQLite (a journal
    file has none; `liveness.Heartbeat` stands in for it)."""
    return settings.storage is not None and not settings.storage.startswith("sqlite")


def sampler(search: Search, parameters: dict, seed: int):
    """The Optuna sampler `search.sampler` names, seeded with `seed`."""
    from modelctl.search.space import grid_space

    written = search.sampler
    entry = SAMPLERS.get(written)
    arguments = {**entry.defaults(), **({k: v for k, v in written.items() if k != "type"}
                                        if isinstance(written, dict) else {})}
    arguments = {name: value for name, value in arguments.items() if value is not None}
    cls = entry.load()
    if entry.name == "grid":
        return cls(grid_space(parameters), seed=seed)
    if entry.name == "cmaes":
        arguments["warn_independent_sampling"] = False
    return cls(**arguments, seed=seed)


def pruner(search: Search):
    """The Optuna pruner `search.pruner` names."""
    written = search.pruner
    entry = PRUNERS.get(written)
    arguments = {**entry.defaults(), **({k: v for k, v in written.items() if k != "type"}
                                        if isinstance(written, dict) else {})}
    return entry.load()(**arguments)


def open_study(settings: Settings, search: Search, *, seed: int, create: bool, join: bool):
    """Create the study, or load it.

    Args:
        settings: the search's settings.
        search: the spec's `search` section.
        seed: the sampler's seed.
        create: create the study if it does not exist.
        join: load it if it exists; with `create` and not `join`, an existing study is an error (continue it
            with --resume).

    Raises:
        SearchError: the study exists and may not be joined, does not exist and may not be created, or was
            started with other parameters or another metric.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial's line is modelctl's own
    store = storage(settings)
    parameters = search.parameters
    exists = settings.study in optuna.get_all_study_names(store)
    where = shown_url(settings.storage) if settings.storage else settings.folder
    if exists and not join:
        raise SearchError(f"study '{settings.study}' exists in {where}; continue it with --resume, or start another "
                          "with --study NAME")
    if not exists and not create:
        raise SearchError(f"no study '{settings.study}' in {where} to resume; start it without --resume")
    study = optuna.create_study(storage=store, study_name=settings.study, direction=goal(search),
                                sampler=sampler(search, parameters, seed), pruner=pruner(search),
                                load_if_exists=True)
    signature = {"metric": search.metric, "parameters": parameters, "folds": settings.folds}
    written = study.user_attrs.get("search")
    if written is None:
        study.set_user_attr("search", signature)
    elif written != signature:
        raise SearchError(f"study '{settings.study}' was started with other parameters, another metric or other "
                          f"--folds than {settings.spec} and this command now give; start a new study with --study "
                          "NAME")
    return study


def worker_seed(seed: int, index: int | None) -> int:
    """The sampler seed of worker `index` (0 for the first): the spec's seed plus the index, so that workers draw
    different values; None (a worker on a database that other machines share) adds the process id instead."""
    return seed + (index if index is not None else os.getpid())
