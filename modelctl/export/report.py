"""Showing export results: a table on the console, and a benchmark report in Markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from modelctl.export.artifact import PREPROCESSING_SUFFIX, Result
from modelctl.util.files import write_text_atomic
from modelctl.version import __version__

COLUMNS = ("format", "quantization", "file", "size", "max difference", "class agreement", "metric", "latency")


def rows(results: list[Result]) -> list[tuple[str, ...]]:
    """One row of text per result, in COLUMNS order."""
    return [(result.format, result.quantization, result.path.name, human_bytes(result.size_bytes),
             _per_output(result.max_abs_diff, "{:.2g}"), _per_output(result.class_agreement, "{:.1%}") or "-",
             _metric(result), f"{result.latency_ms:.3f} ms" if result.latency_ms is not None else "-")
            for result in results]


def notes(results: list[Result]) -> list[str]:
    """Lines about what the columns were measured on, steps left outside artifacts and runtimes they need."""
    lines = []
    if results:
        lines.append(f"max difference and class agreement: against the Keras model on a sample of "
                     f"{max(result.examples for result in results)} held-out examples (class agreement only for "
                     "outputs that predict classes)")
    bases = {"sample" if (result.metric_examples or result.examples) == result.examples else "split"
             for result in results if result.metric is not None}
    if len(bases) > 1:
        lines.append("metric: the float artifacts are scored on the sample, the quantized ones on the whole "
                     "held-out split, each beside the Keras model on the same examples; compare their drops")
    for result in results:
        for step in result.skipped:
            lines.append(f"{result.path}: preprocessing layer '{step.layer}' (input '{step.feature}') is outside "
                         f"the artifact ({step.reason}); the app feeds its output, described in "
                         f"{result.path}{PREPROCESSING_SUFFIX}")
        lines.extend(f"{result.path}: {note}" for note in result.notes)
    return lines


def render_table(results: list[Result], console) -> None:
    """Print the results as a rich table, then the notes."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    table = Table(title="Exported artifacts", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("size", "latency") else "left")
    for row in rows(results):
        table.add_row(*row)
    print_table(table, console)
    for line in notes(results):
        console.print(line, markup=False, highlight=False)


def write_benchmark(results: list[Result], folder: Path) -> tuple[Path, Path]:
    """Write `benchmark.md` and `benchmark.json` into `folder`; returns their paths."""
    folder = Path(folder)
    environment = _environment()
    markdown = ["# Export benchmark", "",
                "Median latency per example at batch 1, each artifact in its own runtime; differences and class "
                "agreement against the Keras model on held-out examples.", "",
                "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    markdown += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(results)]
    lines = notes(results)
    if lines:
        markdown += ["", *[f"- {line}" for line in lines]]
    markdown += ["", "Environment: " + ", ".join(f"{key} {value}" for key, value in environment.items()), ""]
    markdown_path, json_path = folder / "benchmark.md", folder / "benchmark.json"
    write_text_atomic(markdown_path, "\n".join(markdown))
    write_text_atomic(json_path, json.dumps({"environment": environment,
                                             "results": [result.as_dict() for result in results]}, indent=2) + "\n")
    return markdown_path, json_path


def human_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def _per_output(values: dict[str, float], pattern: str) -> str:
    if len(values) == 1:
        return pattern.format(next(iter(values.values())))
    return ", ".join(f"{name} {pattern.format(value)}" for name, value in values.items())


def _metric(result: Result) -> str:
    """The artifact's score beside the Keras model's on the same examples, and which examples: the verification
    sample (the first `examples` held-out ones), or the whole held-out split (quantized artifacts). Rows of one
    table may be on either, so each says which: only the drop compares across rows."""
    if result.metric is None:
        return "-"
    name, value, keras_value = result.metric
    count = result.metric_examples if result.metric_examples is not None else result.examples
    on = f"all {count} held-out" if count != result.examples else f"sample of {count}"
    return f"{name} {value:.4f} (Keras {keras_value:.4f}, drop {keras_value - value:+.4f}) on {on}"


def _environment() -> dict:
    versions = {"modelctl": __version__, "python": platform.python_version(),
                "machine": platform.machine(), "cpus": os.cpu_count()}
    for module in ("tensorflow", "keras", "onnxruntime", "ai_edge_litert", "tf2onnx"):
        try:
            from importlib.metadata import version

            versions[module] = version(module.replace("_", "-"))
        except Exception:  # not installed: left out of the report
            pass
    return versions
