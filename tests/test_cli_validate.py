"""`modelctl validate` and `modelctl schema` through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from modelctl.cli.app import app
from modelctl.spec.schema import schema_text

GOOD = """\
modelctl: 1
name: good
seed: 3
model:
  inputs:
    x: {shape: [4]}
  layers:
    - dense: {units: 8, activation: relu}
    - dense: {units: 1}
"""

BAD = """\
modelctl: 1
name: bad
seed: 3
model:
  inputs:
    x: {shape: [4]}
  layers:
    - dense: {units: 8, activaton: relu}
    - dense: {units: eight}
    - dnse: {units: 1}
    - dense: {units: 1}
      inputs: [stem]
"""

BAD_TEXT = [
    "bad.yaml:8:25: $.model.layers[0].dense.activaton: unknown key 'activaton'. Allowed keys: 'activation', "
    "'activity_regularizer', 'bias_constraint', 'bias_initializer', 'bias_regularizer', 'dtype', "
    "'kernel_constraint', 'kernel_initializer', 'kernel_regularizer', 'lora_alpha', 'lora_rank', "
    "'trainable', 'units' or 'use_bias'. Did you mean 'activation'?",
    "bad.yaml:9:22: $.model.layers[1].dense.units: expected an integer, got a string 'eight'",
    "bad.yaml:10:7: $.model.layers[2].dnse: 'dnse' is not a known layer (or item key name, inputs, repeat, block, "
    "with). Did you mean 'dense'?",
    "bad.yaml:12:16: $.model.layers[3].inputs[0]: 'stem' is not defined. Known names here: 'x' or 'previous'.",
]


def test_valid_spec_exits_0(runner, write_spec):
    path = write_spec(GOOD)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == "1 spec valid\n"


def test_invalid_spec_text(runner, write_spec, monkeypatch):
    path = write_spec(BAD, "bad.yaml")
    monkeypatch.chdir(path.parent)
    result = runner.invoke(app, ["validate", "bad.yaml"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [*BAD_TEXT, "4 errors, 0 warnings in 1 of 1 spec"]


def test_invalid_spec_json(runner, write_spec, monkeypatch):
    path = write_spec(BAD, "bad.yaml")
    monkeypatch.chdir(path.parent)
    result = runner.invoke(app, ["validate", "--format", "json", "bad.yaml"])
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["valid"] is False
    first = payload["files"][0]["errors"][2]
    assert first == {"file": "bad.yaml", "line": 10, "column": 7, "path": "$.model.layers[2].dnse",
                     "severity": "error",
                     "message": "'dnse' is not a known layer (or item key name, inputs, repeat, block, with). "
                                "Did you mean 'dense'?"}


def test_invalid_spec_github(runner, write_spec, monkeypatch):
    path = write_spec(BAD, "bad.yaml")
    monkeypatch.chdir(path.parent)
    result = runner.invoke(app, ["validate", "--format", "github", "bad.yaml"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[2] == ("::error file=bad.yaml,line=10,col=7,title=modelctl $.model.layers[2].dnse::"
                        "$.model.layers[2].dnse: 'dnse' is not a known layer (or item key name, inputs, repeat, "
                        "block, with). Did you mean 'dense'?")
    assert lines[-1] == "4 errors, 0 warnings in 1 of 1 spec"


def test_warnings_pass_unless_strict(runner, write_spec):
    path = write_spec(GOOD.replace("seed: 3\n", ""))
    relaxed = runner.invoke(app, ["validate", str(path)])
    assert relaxed.exit_code == 0
    assert relaxed.output.endswith("1 spec valid, 1 warning\n")
    strict = runner.invoke(app, ["validate", "--strict", str(path)])
    assert strict.exit_code == 1
    assert "$.name: no `seed`" in strict.output


def test_folders_and_globs(runner, tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(GOOD.replace("name: good", "name: other"))
    assert runner.invoke(app, ["validate", str(tmp_path)]).output == "2 specs valid\n"
    assert runner.invoke(app, ["validate", str(tmp_path / "*.yaml")]).output == "1 spec valid\n"


def test_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "missing.yaml: no such file or folder" in result.output


def test_unknown_format_exits_2(runner, write_spec):
    result = runner.invoke(app, ["validate", "--format", "xml", str(write_spec(GOOD))])
    assert result.exit_code == 2


def test_schema_prints_the_committed_schema(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_text()


def test_schema_output_file(runner, tmp_path):
    target = tmp_path / "schema.json"
    result = runner.invoke(app, ["schema", "--output", str(target)])
    assert result.exit_code == 0
    assert target.read_text() == schema_text()
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]


def test_validate_schema_and_help_do_not_import_tensorflow(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    code = (
        "import sys\n"
        "from modelctl.cli.app import app\n"
        "for args in (['validate', sys.argv[1]], ['schema'], ['--help'], ['validate', '--help']):\n"
        "    try:\n"
        "        app(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [name for name in ('tensorflow', 'keras', 'onnx', 'tf2onnx') if name in sys.modules]\n"
        "print('IMPORTED', heavy)\n"
    )
    output = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, check=True)
    assert output.stdout.splitlines()[-1] == "IMPORTED []"


def test_console_script_runs(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    result = subprocess.run(["modelctl", "validate", str(spec)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "1 spec valid\n")


def _spec_reading(source: str) -> str:
    return f"""modelctl: 1
name: columns
seed: 3
data:
  source: {source}
  features:
    x: {{type: numeric, columns: [sepal_length, petal_widht]}}
    pixels: {{type: numeric, columns: "pixel_*"}}
  labels:
    species: {{column: species, type: categorical}}
model:
  layers:
    - concatenate: {{}}
      inputs: [x, pixels]
    - dense: {{units: 3, activation: softmax}}
      name: species
"""


def test_validate_reads_the_columns_of_csv_tsv_and_parquet_files_without_tensorflow(tmp_path):
    import pyarrow
    import pyarrow.parquet

    columns = ["sepal_length", "petal_width", "species"]
    (tmp_path / "data.tsv").write_text("\t".join(columns) + "\n5.1\t0.2\tsetosa\n")
    pyarrow.parquet.write_table(pyarrow.table({name: [1.0] for name in columns}), tmp_path / "data.parquet")
    for name in ("tsv", "parquet"):
        (tmp_path / f"{name}.yaml").write_text(_spec_reading(f"{{format: {name}, path: data.{name}}}"))
    code = (
        "import sys\n"
        "from modelctl.cli.app import app\n"
        "try:\n"
        "    app(['validate', *sys.argv[1:]], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [name for name in ('tensorflow', 'keras', 'onnx', 'tf2onnx') if name in sys.modules]\n"
        "print('IMPORTED', heavy)\n"
    )
    output = subprocess.run([sys.executable, "-c", code, "tsv.yaml", "parquet.yaml"], capture_output=True, text=True,
                            check=True, cwd=tmp_path)
    listed = "Expected one of 'sepal_length', 'petal_width', 'species'. Did you mean 'petal_width'?"
    assert output.stdout.splitlines() == [
        f"tsv.yaml:7:48: $.data.features.x.columns[1]: 'petal_widht' is not a column of data.tsv. {listed}",
        "tsv.yaml:8:38: $.data.features.pixels.columns: no column of data.tsv matches 'pixel_*'. Columns: "
        "'sepal_length', 'petal_width', 'species'.",
        f"parquet.yaml:7:48: $.data.features.x.columns[1]: 'petal_widht' is not a column of data.parquet. {listed}",
        "parquet.yaml:8:38: $.data.features.pixels.columns: no column of data.parquet matches 'pixel_*'. Columns: "
        "'sepal_length', 'petal_width', 'species'.",
        "4 errors, 0 warnings in 2 of 2 specs",
        "IMPORTED []",
    ]
