"""Shell completion of spec files, run folders and template names (`modelctl --install-completion`).

    spec_files("specs/ta")    # ['specs/tabular-mlp.yaml', 'specs/tabular-regression.yaml']
    run_folders("runs/ir")    # ['runs/iris', 'runs/iris/20240501T101500Z', ...]
    templates("tab")          # ['tabular-classifier', 'tabular-regression']

Each takes what the user has typed so far and returns the values that start with it. They run on every
press of Tab, so they only list folders: no spec is read and nothing heavy is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

SPEC_SUFFIXES = (".yaml", ".yml")

RUN_DEPTH = 3
"""Run folders are looked for this many folders below the working folder (`runs/<name>/<timestamp>`)."""


def _entries(incomplete: str) -> tuple[str, list[os.DirEntry]]:
    """(the typed folder part, with its trailing `/`; the entries of that folder whose names start with the
    typed name part). Hidden entries only when the name part starts with a dot."""
    name = incomplete.rpartition("/")[2]
    folder = incomplete[:len(incomplete) - len(name)]
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda entry: entry.name)
    except OSError:
        return folder, []
    return folder, [entry for entry in entries if entry.name.startswith(name)
                    and (name.startswith(".") or not entry.name.startswith("."))]


def spec_files(incomplete: str) -> list[str]:
    """YAML files and folders (ending in `/`, to go on typing) that start with `incomplete`."""
    folder, entries = _entries(incomplete)
    found = []
    for entry in entries:
        if entry.is_dir():
            found.append(folder + entry.name + "/")
        elif entry.name.endswith(SPEC_SUFFIXES):
            found.append(folder + entry.name)
    return found


def is_run(path: Path) -> bool:
    """Whether `path` is a run folder: it holds the record that `modelctl train` writes."""
    from modelctl.runs import RunFolder

    return RunFolder(path).is_run


def run_folders(incomplete: str) -> list[str]:
    """Run folders (`runs/<name>/<timestamp>`) and the folders holding them (`runs/<name>`, meaning the newest
    run) that start with `incomplete`; the folders leading to them, ending in `/`, while the path is being typed."""
    found: list[str] = []
    folder, entries = _entries(incomplete)
    for entry in entries:
        if not entry.is_dir():
            continue
        path, shown = Path(entry.path), folder + entry.name
        if is_run(path):
            found.append(shown)
        elif any(is_run(child) for child in _subfolders(path)):
            found += [shown, shown + "/"]
        elif _holds_runs(path, RUN_DEPTH - 1):
            found.append(shown + "/")
    return found


def _subfolders(path: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(path) if entry.is_dir()]
    except OSError:
        return []


def _holds_runs(path: Path, depth: int) -> bool:
    if depth <= 0:
        return False
    return any(is_run(child) or _holds_runs(child, depth - 1) for child in _subfolders(path))


def templates(incomplete: str) -> list[str]:
    """The names of `modelctl init`'s templates that start with `incomplete`."""
    from modelctl.cli.init import template_names

    return [name for name in template_names() if name.startswith(incomplete)]
