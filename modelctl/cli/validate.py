"""`modelctl validate`: validate spec files and render the result as text, JSON or GitHub annotations."""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable

from modelctl.errors import ERROR, Diagnostic
from modelctl.spec.validate import Result, expand_paths, validate_file


def run_validate(paths: Iterable[str], output_format: str, strict: bool, deep: bool, overrides: list[str],
                 console) -> int:
    """Validate every spec named by `paths` and print the result. Returns the exit code (0 or 1).

    Args:
        paths: files, folders and globs.
        output_format: `text`, `json` or `github`.
        strict: warnings count as errors.
        deep: build each model to check shapes.
        overrides: `dotted.path=value` strings applied to every spec.
        console: a rich Console to print to.
    """
    files = expand_paths(paths)
    if deep:
        from modelctl.model.shapes import check_shapes
    results = [validate_file(file, overrides, deep=check_shapes if deep else None) for file in files]
    if strict:
        results = [_promote(result) for result in results]
    RENDERERS[output_format](results, console)
    return 0 if all(result.ok() for result in results) else 1


def _promote(result: Result) -> Result:
    """Turn warnings into errors (`--strict`)."""
    return Result(result.source, [dataclasses.replace(item, severity=ERROR) for item in result.diagnostics],
                  result.document)


def _summary(results: list[Result]) -> str:
    errors = sum(len(result.errors) for result in results)
    warnings = sum(len(result.warnings) for result in results)
    invalid = sum(1 for result in results if result.errors)
    files = f"{len(results)} spec{'s' if len(results) != 1 else ''}"
    if not errors:
        extra = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        return f"{files} valid{extra}"
    return (f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
            f"in {invalid} of {files}")


def render_text(results: list[Result], console) -> None:
    for result in results:
        for item in result.diagnostics:
            console.out(str(item), highlight=False)
    console.out(_summary(results), highlight=False)


def render_json(results: list[Result], console) -> None:
    payload = {
        "valid": all(result.ok() for result in results),
        "summary": _summary(results),
        "files": [{"file": result.source, "valid": result.ok(),
                   "errors": [item.as_dict() for item in result.errors],
                   "warnings": [item.as_dict() for item in result.warnings]} for result in results],
    }
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


def render_github(results: list[Result], console) -> None:
    for result in results:
        for item in result.diagnostics:
            console.out(github_line(item), highlight=False)
    console.out(_summary(results), highlight=False)


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
