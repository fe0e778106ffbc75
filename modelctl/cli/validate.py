"""`modelctl validate`: validate spec files and render the result as text, JSON or GitHub annotations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Iterable

from modelctl.errors import ERROR, Diagnostic
from modelctl.spec.validate import Result, bases_among, expand_paths, validate_file


def run_validate(paths: Iterable[str], output_format: str, strict: bool, *, deep: bool, overrides: list[str],
                 console, print_resolved: bool = False, status_console=None) -> int:
    """Validate every spec named by `paths` and print the result. Returns the exit code (0 or 1).

    A file that another of the specs extends is a base: when it lacks `name` or `model` it is checked
    against the schema alone (the specs that extend it are checked whole).

    Args:
        paths: files, folders and globs.
        output_format: `text`, `json` or `github`.
        strict: warnings count as errors.
        deep: build each model to check shapes.
        overrides: `dotted.path=value` strings applied to every spec.
        console: a rich Console to print to.
        print_resolved: also print each spec as merged from its bases, after `overrides` (text and github:
            YAML before the diagnostics; json: `resolved` and `files` keys). Default False.
        status_console: where the diagnostics and the summary go when `print_resolved` prints YAML as text, so
            that `validate --print-resolved spec.yaml > resolved.yaml` writes YAML alone (the command line
            passes stderr); default None: `console`.
    """
    files = expand_paths(paths)
    if deep:
        from modelctl.util.lazy import require

        require("tensorflow", "numpy", what="modelctl validate --deep")
        from modelctl.model.shapes import check_shapes
    results = [validate_file(file, overrides, deep=check_shapes if deep else None) for file in files]
    bases = bases_among(results)
    # A base that is complete was checked whole above (--deep included); only a partial one is checked again,
    # against the schema alone.
    results = [validate_file(result.source, overrides, partial=True)
               if Path(result.source).resolve() in bases and not _complete(result) else result
               for result in results]
    if strict:
        results = [_promote(result) for result in results]
    if print_resolved and output_format != "json":
        for result in results:
            if result.document is not None:
                console.out(resolved_text(result), highlight=False)
    statuses = status_console if print_resolved and output_format == "text" and status_console is not None \
        else console
    RENDERERS[output_format](results, statuses, print_resolved)
    return 0 if all(result.ok() for result in results) else 1


def resolved_text(result: Result) -> str:
    """The spec of `result` as YAML after merging its bases and applying overrides, under a comment naming the
    files it came from."""
    import yaml

    files = result.document.files
    header = f"# {result.source}" + (f": merged from {', '.join(files)}" if len(files) > 1 else "")
    body = yaml.safe_dump(result.document.data, sort_keys=False, allow_unicode=True, width=100)
    return f"{header}\n{body}"


def _promote(result: Result) -> Result:
    """Turn warnings into errors (`--strict`)."""
    return Result(result.source, [dataclasses.replace(item, severity=ERROR) for item in result.diagnostics],
                  result.document)


def shown_once(results: list[Result]) -> list[Diagnostic]:
    """Every diagnostic of `results` in order, each once: a problem in a base is found again in each spec that
    extends it."""
    return list({(item.location, item.path, item.message, item.severity): item
                 for result in results for item in result.diagnostics}.values())


def _summary(results: list[Result]) -> str:
    unique = shown_once(results)
    errors = sum(item.severity == ERROR for item in unique)
    warnings = len(unique) - errors
    invalid = sum(1 for result in results if result.errors)
    files = f"{len(results)} spec{'s' if len(results) != 1 else ''}"
    if not errors:
        extra = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        return f"{files} valid{extra}"
    return (f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
            f"in {invalid} of {files}")


def _complete(result: Result) -> bool:
    """Whether the spec has every key a spec needs once merged (a base may leave some to the specs extending it)."""
    from modelctl.spec.schema import RESOLVED_REQUIRED

    return result.document is not None and all(key in result.document.data for key in RESOLVED_REQUIRED)


def render_text(results: list[Result], console, print_resolved: bool = False) -> None:
    for item in shown_once(results):
        console.out(str(item), highlight=False)
    console.out(_summary(results), highlight=False)


def render_json(results: list[Result], console, print_resolved: bool = False) -> None:
    files = []
    for result in results:
        entry = {"file": result.source, "valid": result.ok(),
                 "errors": [item.as_dict() for item in result.errors],
                 "warnings": [item.as_dict() for item in result.warnings]}
        if print_resolved:
            entry["files"] = result.document.files if result.document is not None else [result.source]
            entry["resolved"] = result.document.data if result.document is not None else None
        files.append(entry)
    payload = {"valid": all(result.ok() for result in results), "summary": _summary(results), "files": files}
    console.out(json.dumps(payload, indent=2), highlight=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(item: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the pull request at the diagnostic."""
    where = [f"file={_escape_property(item.location.source)}"]
    if item.location.line:
        where += [f"line={item.location.line}", f"col={item.location.column}"]
    where.append(f"title={_escape_property('modelctl ' + item.path)}")
    return f"::{item.severity} {','.join(where)}::{_escape_data(item.path + ': ' + item.message)}"


def render_github(results: list[Result], console, print_resolved: bool = False) -> None:
    for item in shown_once(results):
        console.out(github_line(item), highlight=False)
    console.out(_summary(results), highlight=False)


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
