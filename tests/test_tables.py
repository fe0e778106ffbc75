"""Tables off a terminal (CI logs, pipes): one line per row, aligned columns, no rules, however wide."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.table import Table

from modelctl.cli.app import app
from modelctl.export.artifact import Result
from modelctl.export.report import render_table as render_export
from modelctl.util.tables import print_table

LONG = "a_file_name_long_enough_to_overflow_eighty_columns_by_itself_" * 2 + "model.int8.tflite"


def _starts(line: str, cells: list[str]) -> list[int]:
    """Where each cell begins in `line`, searching left to right."""
    starts, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        starts.append(at)
        at += len(cell)
    return starts


def test_a_wide_table_off_a_terminal_keeps_each_row_on_one_line():
    table = Table(title="Artifacts", title_justify="center")
    table.add_column("file")
    table.add_column("size", justify="right")
    table.add_row(LONG, "1.5 KiB")
    table.add_row("model.onnx", "12.0 MiB")
    console = Console(file=io.StringIO(), width=80)
    print_table(table, console)
    width = len(LONG)
    assert console.file.getvalue().splitlines() == [
        "Artifacts",
        "file" + " " * (width - 4) + "      size",
        LONG + "   1.5 KiB",
        "model.onnx" + " " * (width - 10) + "  12.0 MiB",
    ]
    assert table.box is not None and table.title_justify == "center"  # the caller's table is left as it was


def test_a_terminal_still_gets_the_ruled_table():
    table = Table(title="Artifacts")
    table.add_column("file")
    table.add_row("model.onnx")
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    print_table(table, console)
    assert "│ model.onnx │" in console.file.getvalue()


def test_export_table_off_a_terminal():
    results = [Result(format=name, quantization=quantization, path=Path("/runs/export") / file, size_bytes=size,
                      max_abs_diff={"y": 1e-6}, class_agreement={"y": 1.0}, examples=32, tolerance=None,
                      metric=("accuracy", 0.9, 0.91), latency_ms=0.125)
               for name, quantization, file, size in (("tflite", "int8", LONG, 2048),
                                                      ("onnx", "none", "model.onnx", 12_582_912))]
    console = Console(file=io.StringIO(), width=80)
    render_export(results, console)
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "Exported artifacts"
    # Each row on one line, then the note on what the columns were measured on, wrapped like prose.
    assert " ".join(line.strip() for line in lines[4:]).startswith("max difference and class agreement: against the Keras model on a sample "
                                          "of 32 held-out examples")
    header = ["format", "quantization", "file", "size", "max difference", "class agreement", "metric", "latency"]
    first = ["tflite", "int8", LONG, "2.0 KiB", "1e-06", "100.0%", "accuracy 0.9000 (Keras 0.9100, drop +0.0100)",
             "0.125 ms"]
    second = ["onnx", "none", "model.onnx", "12.0 MiB", "1e-06", "100.0%",
              "accuracy 0.9000 (Keras 0.9100, drop +0.0100)", "0.125 ms"]
    left = [0, 1, 2, 4, 5, 6]  # the columns aligned on their first character; size and latency on their last
    heads, rows = _starts(lines[1], header), [_starts(lines[2], first), _starts(lines[3], second)]
    for row in rows:
        assert [row[index] for index in left] == [heads[index] for index in left]
    ends = [[start + len(cell) for start, cell in zip(starts, cells)]
            for starts, cells in ((heads, header), (rows[0], first), (rows[1], second))]
    assert len({line[3] for line in ends}) == 1 and len({line[7] for line in ends}) == 1


def test_cli_summary_through_a_pipe_keeps_each_layer_on_one_line(runner, write_spec):
    name = "a_dense_layer_whose_name_alone_is_wider_than_the_eighty_columns_a_pipe_falls_back_to"
    spec = write_spec(f"""modelctl: 1
name: wide
model:
  inputs:
    x: {{shape: [4]}}
  layers:
    - dense: {{units: 8, activation: relu}}
      name: {name}
    - dense: {{units: 1}}
      name: out
""")
    result = runner.invoke(app, ["summary", str(spec)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Model wide"
    header = _starts(lines[1], ["layer", "type", "output shape"])
    assert header[0] == 0
    layer = next(line for line in lines if line.startswith(name))
    assert _starts(layer, [name, "dense", "(None, 8)"]) == header
    assert layer.split()[-2:] == ["40", "40"] and len(layer) == len(lines[1])  # right-aligned under their heads
    assert not any(set(line) & set("│┃━─") for line in lines)


def test_a_title_wider_than_its_table_stays_on_one_line():
    table = Table(title=f"Run /runs/{LONG}")
    table.add_column("split")
    table.add_column("loss", justify="right")
    table.add_row("test", "0.3131")
    console = Console(file=io.StringIO(), width=80)
    print_table(table, console)
    assert console.file.getvalue().splitlines() == [f"Run /runs/{LONG}", "split    loss", "test   0.3131"]
