"""Validate spec files: the schema first, then the checks it cannot express.

    result = validate_file("specs/cnn.yaml", overrides=["training.epochs=2"])
    result.errors    # Diagnostics, sorted by position
"""

from __future__ import annotations

import dataclasses
import glob
from pathlib import Path
from typing import Callable, Iterable

from modelctl.errors import ERROR, WARNING, Diagnostic, SpecError, UsageError
from modelctl.spec import checks, messages, search
from modelctl.spec.extends import KEY as EXTENDS, load_resolved
from modelctl.spec.loader import Document
from modelctl.spec.overrides import apply_overrides
from modelctl.spec.schema import RESOLVED_REQUIRED, validator

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass
class Result:
    """Outcome of validating one spec file."""

    source: str
    diagnostics: list[Diagnostic]
    document: Document | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [item for item in self.diagnostics if item.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [item for item in self.diagnostics if item.severity == WARNING]

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


def check_document(document: Document) -> list[Diagnostic]:
    """Every problem in a loaded document, sorted by position."""
    diagnostics = _check_spec(document)
    if isinstance(document.data, dict) and "search" in document.data \
            and not any(item.path == "$.search.parameters" or item.path.startswith("$.search.sampler")
                        for item in diagnostics):
        diagnostics += search.check_search(document, _check_spec, known={item.path for item in diagnostics})
    return sorted(_unique(diagnostics), key=Diagnostic.sort_key)


def _check_spec(document: Document) -> list[Diagnostic]:
    """The schema's and the semantic checks' diagnostics of a document, the search section's own excepted."""
    schema_errors = list(validator().iter_errors(document.data))
    diagnostics = messages.diagnostics(document, schema_errors)
    report = checks.Report(document)
    try:
        checks.run_checks(document.data, report)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        if not schema_errors:
            raise  # a valid spec must never break a check: that is a bug
    diagnostics += report.items
    return sorted(_unique(diagnostics), key=Diagnostic.sort_key)


def _unique(items: list[Diagnostic]) -> list[Diagnostic]:
    seen: dict = {}
    for item in items:
        seen.setdefault((item.location, item.path, item.message), item)
    return list(seen.values())


def validate_file(path: str | Path, overrides: Iterable[str] = (), *,
                  deep: Callable[[Document], list[Diagnostic]] | None = None, base_dir: Path | None = None,
                  partial: bool = False) -> Result:
    """Validate the spec at `path`, merged onto its bases (`extends`), after applying `overrides`.

    Args:
        path: the spec file.
        overrides: `dotted.path=value` strings, applied in order.
        deep: a check that builds the model (imports TensorFlow), run on a spec without errors and given the
            document; its diagnostics are added. Such as `modelctl.model.shapes.check_shapes` (layer shapes).
            Default None: the model is not built.
        base_dir: folder relative paths are read from; default None, the spec's own folder.
        partial: the file is a base that other specs extend: when it lacks `name` or `model` once merged, it is
            checked against the schema only, as editors check it, with no key required but `modelctl`. Default
            False: every spec is checked as one that runs.

    Raises:
        UsageError: the file does not exist or an override is malformed.
    """
    try:
        document = load_resolved(path)
        document.base = base_dir
        apply_overrides(document, overrides)
    except SpecError as error:
        return Result(str(path), error.diagnostics)
    if EXTENDS in document.data:  # bases are merged when the file is read; an override comes too late
        return Result(str(path), [document.diagnostic((EXTENDS,), "`extends` is read from the spec file; --set "
                                                                   "cannot name bases")], document)
    if partial and not all(key in document.data for key in RESOLVED_REQUIRED):
        errors = validator(resolved=False).iter_errors(document.data)
        return Result(str(path), sorted(_unique(messages.diagnostics(document, list(errors))),
                                        key=Diagnostic.sort_key), document)
    diagnostics = check_document(document)
    if isinstance(document.data.get("data"), dict) and not any(
            item.severity == ERROR and item.path.startswith(("$.data", "$.training")) for item in diagnostics):
        from modelctl.data.columns import check_columns  # reads source headers, no rows and no TensorFlow

        diagnostics = sorted(diagnostics + check_columns(document), key=Diagnostic.sort_key)
    if deep is not None and not any(item.severity == ERROR for item in diagnostics):
        diagnostics += deep(document)
    return Result(str(path), diagnostics, document)


def load_spec(path: str | Path, overrides: Iterable[str] = (), base_dir: Path | None = None) -> Document:
    """Load and validate a spec for a command that uses it; `base_dir` as in `validate_file`.

    Raises:
        SpecError: the spec has errors (warnings do not stop it).
    """
    result = validate_file(path, overrides, base_dir=base_dir)
    if result.errors:
        raise SpecError(result.errors)
    return result.document


def bases_among(results: Iterable[Result]) -> set[Path]:
    """The files (resolved paths) that the validated specs in `results` extend, directly or through other bases."""
    return {Path(file).resolve() for result in results if result.document is not None
            for file in result.document.files[:-1]}


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Spec files named by `paths`: files, folders (searched for *.yaml / *.yml) and globs.

    Raises:
        UsageError: a path matches nothing.
    """
    files: list[str] = []
    for written in paths:
        if glob.has_magic(written):
            matches = sorted(glob.glob(written, recursive=True))
            if not matches:
                raise UsageError(f"{written}: no file matches")
            files.extend(match for match in matches if Path(match).is_file())
            continue
        target = Path(written)
        if target.is_dir():
            found = sorted(str(file) for file in target.rglob("*") if file.suffix in SPEC_SUFFIXES
                           and file.is_file())
            if not found:
                raise UsageError(f"{written}: the folder holds no .yaml or .yml file")
            files.extend(found)
        elif target.exists():
            files.append(written)
        else:
            raise UsageError(f"{written}: no such file or folder")
    return list(dict.fromkeys(files))
