"""Data and run folders on object storage, against a local S3-compatible server (moto's server mode) on 127.0.0.1
that the test starts: never a real cloud."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

BUCKET = "modelctl-test"

SPEC = """modelctl: 1
name: iris
seed: 5
data:
  source: {{format: parquet, path: '{path}'}}
  features:
    x: {{type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width], preprocessing: [standardize]}}
  labels:
    species: {{column: species, type: categorical}}
  split: {{train: 0.7, validation: 0.15, test: 0.15, stratify: true}}
  batch_size: 16
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 3
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1, and an environment whose credentials and endpoint point at it (the usual
    AWS variables); yields a boto3 client with the test bucket made."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    variables = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.2)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in variables.items():
                patch.setenv(name, value)
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket=BUCKET)
            yield client
    finally:
        server.kill()
        server.wait()


def _objects(client, prefix: str) -> dict[str, int]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix):]: item["Size"] for item in listed.get("Contents", [])}


def _put_iris(client, tmp_path) -> None:
    """examples/iris/iris.csv as two Parquet objects, `data/part-0.parquet` and `data/part-1.parquet`."""
    import pyarrow.csv
    import pyarrow.parquet

    table = pyarrow.csv.read_csv(ROOT / "examples" / "iris" / "iris.csv")
    for index, part in enumerate((table.slice(0, 80), table.slice(80))):
        local = tmp_path / f"part-{index}.parquet"
        pyarrow.parquet.write_table(part, local)
        client.upload_file(str(local), BUCKET, f"data/part-{index}.parquet")


def _train(*arguments: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from modelctl.cli.app import app

    result = CliRunner().invoke(app, ["train", *arguments])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_run_reads_parquet_from_and_writes_its_folder_to_s3(s3, write_spec, tmp_path, data_cache_folder):
    """The source is a glob of Parquet objects and the run folder is on the bucket: every file a local run writes
    is uploaded; run.json names the objects it read by URL. The same command with `--run-dir s3://...
    --resume-if-exists` finds the run completed; the prepared data of a second run comes from the cache, and
    the objects are not fetched again until one changes."""
    _put_iris(s3, tmp_path)
    spec = write_spec(SPEC.format(path=f"s3://{BUCKET}/data/part-*.parquet"))
    run = f"s3://{BUCKET}/runs/iris-main"
    code, output = _train(str(spec), "--run-dir", run, "--resume-if-exists", "--quiet")
    assert code == 0, output
    stored = _objects(s3, "runs/iris-main/")
    for name in ("run.json", "spec.yaml", "preprocessing.json", "history.csv", "metrics.json", "model.keras",
                 "checkpoints/last.keras", "checkpoints/last.json", "checkpoints/best.keras"):
        assert stored.get(name, 0) > 0, (name, sorted(stored))
    record = json.loads(s3.get_object(Bucket=BUCKET, Key="runs/iris-main/run.json")["Body"].read())
    assert record["status"] == "completed" and record["epochs_completed"] == 3
    files = record["data"]["sources"]["all"]["files"]
    assert [item["path"] for item in files] == [f"s3://{BUCKET}/data/part-0.parquet",
                                                f"s3://{BUCKET}/data/part-1.parquet"]
    assert record["examples"]["train"] + record["examples"]["validation"] + record["examples"]["test"] == 150

    code, output = _train(str(spec), "--run-dir", run, "--resume-if-exists", "--quiet")
    assert code == 0 and f"{run}: the run has completed; nothing to train" in output, output

    staged = sorted((data_cache_folder / "remote").glob("*/part-*.parquet"))
    assert len(staged) == 2
    fetched = {path: path.stat().st_mtime_ns for path in staged}
    code, output = _train(str(spec), "--output", f"s3://{BUCKET}/runs")
    assert code == 0, output
    assert "data cache: read" in output, output
    assert {path: path.stat().st_mtime_ns for path in staged} == fetched  # not fetched again
    [second] = {key.split("/")[0] for key in _objects(s3, "runs/iris/")}
    assert _objects(s3, f"runs/iris/{second}/")["model.keras"] > 0

    import pyarrow.parquet

    changed = tmp_path / "changed.parquet"  # part-1 with its rows in reverse: the same classes, another content
    table = pyarrow.parquet.read_table(tmp_path / "part-1.parquet")
    pyarrow.parquet.write_table(table.take(list(range(table.num_rows - 1, -1, -1))), changed)
    s3.upload_file(str(changed), BUCKET, "data/part-1.parquet")
    code, output = _train(str(spec), "--output", f"s3://{BUCKET}/runs")
    assert code == 0, output
    assert "data cache: read" not in output, output
    assert len(list((data_cache_folder / "remote").glob("*/part-1.parquet"))) == 2  # a new copy of the new object


def test_a_missing_object_is_one_line(s3, write_spec):
    spec = write_spec(SPEC.format(path=f"s3://{BUCKET}/nothing/*.parquet"))
    code, output = _train(str(spec), "--output", str(spec.parent / "runs"))
    assert code == 1
    assert f"no object matches the pattern 's3://{BUCKET}/nothing/*.parquet'" in output
    assert "Traceback" not in output
