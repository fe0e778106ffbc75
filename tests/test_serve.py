"""`modelctl serve`: TensorFlow Serving's REST API over a trained run, answering what `modelctl predict` answers.

One iris run (one epoch of three steps) exported to ONNX is shared by the module. Routes, errors and the token
are checked in-process with Starlette's TestClient; one test starts the real `modelctl serve` process, queries it
over HTTP and stops it with SIGTERM while a request is in flight.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
with warnings.catch_warnings():  # Starlette deprecates httpx for its TestClient, which still works with it
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from conftest import IRIS_COLUMNS, ROOT, quiet_console
from system_programs import debian_program

from modelctl.errors import UsageError
from modelctl.serve import ServeError, ServeOptions, create_app, open_model
from modelctl.serve.batching import Batcher

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

IRIS = ROOT / "examples" / "iris" / "iris.csv"
TOKEN = "s3cret-token"
ROWS = 12


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from modelctl.export.from_run import export_run
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    folder = tmp_path_factory.mktemp("serve")
    document = load_spec(ROOT / "examples" / "iris" / "spec.yaml", ["training.epochs=1", "training.steps_per_epoch=3"])
    run_dir = train(document, folder / "runs", quiet_console(), quiet=True).run_dir
    export_run(run_dir, ["onnx", "saved_model"])
    return run_dir


@pytest.fixture(scope="module")
def served(run_dir):
    return open_model(run_dir)


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served, ServeOptions(max_body_bytes=4096))) as client:
        yield client


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """The first iris rows as a CSV file for `modelctl predict`, and as JSON instances (the measurement columns)."""
    lines = IRIS.read_text(encoding="utf-8").splitlines()[:ROWS + 1]
    path = tmp_path_factory.mktemp("rows") / "rows.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with path.open(newline="") as file:
        instances = [{column: float(row[column]) for column in IRIS_COLUMNS} for row in csv.DictReader(file)]
    return path, instances


def predict_rows(target, path) -> list[dict]:
    from modelctl.predict import predict

    return [{key: value for key, value in row.items() if key != "input"} for row in predict(target, [str(path)])]


def assert_same(actual: list[dict], expected: list[dict], tolerance: float = 1e-6) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert list(got) == list(want)
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=tolerance), key
            else:
                assert got[key] == value, key


def test_the_run_is_served_from_its_onnx_export_and_answers_what_predict_answers(served, client, rows, run_dir):
    path, instances = rows
    assert (served.name, served.backend, served.path.name) == ("iris", "onnx", "model.onnx")
    expected = predict_rows(run_dir / "export" / "model.onnx", path)
    answer = client.post("/v1/models/iris:predict", json={"instances": instances})
    assert answer.status_code == 200
    assert_same(answer.json()["predictions"], expected)
    assert set(expected[0]) == {"species", "species_setosa", "species_versicolor", "species_virginica"}

    # The same rows by the feature's name, in the columnar format, and against a version: the same answers.
    vectors = [[row[column] for column in IRIS_COLUMNS] for row in instances]
    by_name = client.post("/v1/models/iris:predict", json={"instances": [{"measurements": v} for v in vectors]})
    assert_same(by_name.json()["predictions"], expected)
    columnar = client.post(f"/v1/models/iris/versions/{served.version}:predict",
                           json={"inputs": {column: [row[column] for row in instances] for column in IRIS_COLUMNS}})
    outputs = columnar.json()["outputs"]
    assert_same([{key: outputs[key][index] for key in outputs} for index in range(ROWS)], expected)
    bare = client.post("/v1/models/iris:predict", json={"instances": vectors})
    assert_same(bare.json()["predictions"], expected)


def test_the_keras_backend_answers_what_the_run_predicts(run_dir, rows):
    path, instances = rows
    with TestClient(create_app(open_model(run_dir, backend="keras"))) as keras_client:
        answer = keras_client.post("/v1/models/iris:predict", json={"instances": instances})
    assert_same(answer.json()["predictions"], predict_rows(run_dir, path), tolerance=1e-5)


def test_export_writes_tensorflow_servings_layout_which_serves_the_same_answers(run_dir, served, rows):
    path, instances = rows
    base = run_dir / "export" / "serving" / "iris"
    assert [folder.name for folder in base.iterdir()] == [str(served.version)]
    assert (base / str(served.version) / "saved_model.pb").is_file()
    from_layout = open_model(base)
    assert (from_layout.backend, from_layout.version, from_layout.path) == ("saved_model", served.version,
                                                                            base / str(served.version))
    with TestClient(create_app(from_layout)) as layout_client:
        answer = layout_client.post("/v1/models/iris:predict", json={"instances": instances})
    assert_same(answer.json()["predictions"], predict_rows(run_dir, path), tolerance=1e-5)
    # `predict` takes the base folder as `serve` does; the `serving` folder above it holds models, and says so.
    assert_same(predict_rows(base, path), predict_rows(base / str(served.version), path))
    for command in (lambda: open_model(base.parent), lambda: predict_rows(base.parent, path)):
        with pytest.raises(UsageError) as caught:
            command()
        assert str(caught.value) == (f"{base.parent}: a model repository holding 1 model (iris); give a "
                                     f"model's folder, such as {base}")


def test_export_lays_out_onnx_and_tflite_in_a_model_repository_which_serves_the_same_answers(run_dir, served, rows,
                                                                                            tmp_path):
    """`--model-repository` puts every format in `<name>/<version>/`: a TFLite export written now and the ONNX
    and SavedModel exports already in place (laid out without exporting them again) share the version."""
    from typer.testing import CliRunner

    from modelctl.cli.app import app

    path, instances = rows
    repository = tmp_path / "repo"
    written = CliRunner().invoke(app, ["export", str(run_dir), "--format", "tflite", "--output",
                                       str(tmp_path / "export"), "--model-repository", str(repository)])
    assert written.exit_code == 0, written.output
    kept = CliRunner().invoke(app, ["export", str(run_dir), "--format", "onnx", "--format", "saved_model",
                                    "--model-repository", str(repository)])
    assert kept.exit_code == 0, kept.output
    base = repository / "iris"
    said = "".join(kept.output.split())  # long lines are wrapped to the terminal's width
    for line in (f"model repository layout in {base} (onnx, tflite, saved_model): serve it with `modelctl serve "
                 f"{base}`",
                 f"or `tensorflow_model_server --rest_api_port=8501 --model_name=iris "
                 f"--model_base_path={base.resolve()}`",
                 f"or `tritonserver --model-repository={repository.resolve()}`"):
        assert "".join(line.split()) in said, line
    version = base / str(served.version)
    assert sorted(item.name for item in version.iterdir()) == sorted(
        ["model.onnx", "model.tflite", *(item.name for item in (run_dir / "export" / "saved_model").iterdir())])
    assert (version / "model.onnx").read_bytes() == (run_dir / "export" / "model.onnx").read_bytes()
    register = CliRunner().invoke(app, ["export", str(run_dir), "--format", "onnx", "--model-repository",
                                        str(repository), "--register", "iris"])
    assert register.exit_code == 2 and "".join(register.output.split()).endswith("".join(
        "error: --register iris: every artifact was in place already and none was exported and verified now; pass "
        "--force to export them again and register them".split()))

    expected = predict_rows(run_dir / "export" / "model.onnx", path)
    for backend, tolerance in (("auto", 1e-6), ("tflite", 1e-5), ("saved_model", 1e-5)):
        from_repository = open_model(base, backend=backend)
        assert (from_repository.backend, from_repository.version) == (
            "onnx" if backend == "auto" else backend, served.version)
        with TestClient(create_app(from_repository)) as repository_client:
            answer = repository_client.post(f"/v1/models/iris/versions/{served.version}:predict",
                                            json={"instances": instances})
        assert_same(answer.json()["predictions"], expected, tolerance=tolerance)
    assert_same(predict_rows(base, path), expected)


def test_classify_status_and_metadata_speak_tensorflow_serving(client, served):
    answer = client.post("/v1/models/iris:classify", json={"examples": [[5.1, 3.5, 1.4, 0.2]]}).json()
    [[setosa, versicolor, virginica]] = answer["results"]
    assert [setosa[0], versicolor[0], virginica[0]] == ["setosa", "versicolor", "virginica"]
    assert setosa[1] + versicolor[1] + virginica[1] == pytest.approx(1.0, abs=1e-5)

    assert client.get("/v1/models/iris").json() == {"model_version_status": [
        {"version": str(served.version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    metadata = client.get("/v1/models/iris/metadata").json()
    assert metadata["model_spec"] == {"name": "iris", "signature_name": "serving_default",
                                      "version": str(served.version)}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["measurements"]["columns"] == IRIS_COLUMNS
    assert signature["inputs"]["measurements"]["tensor_shape"]["dim"][1]["size"] == "4"
    assert signature["outputs"]["species"]["classes"] == ["setosa", "versicolor", "virginica"]
    assert metadata["modelctl"]["spec_name"] == "iris"
    assert metadata["modelctl"]["spec_hash"] == json.loads((served.path.parents[1] / "run.json").read_text())[
        "spec_hash"]
    assert metadata["modelctl"]["backend"] == "onnx"
    assert client.get("/healthz").json() == {"status": "ok"}


ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
BAD_REQUESTS = [
    ({"instances": [{**ROW, "sepal_lenght": 1.0}]}, "$.instances[0].sepal_lenght",
     "'sepal_lenght' is not a feature of the model. Expected 'measurements', 'sepal_length', 'sepal_width', "
     "'petal_length' or 'petal_width'. Did you mean 'sepal_length'?"),
    ({"instances": [{key: value for key, value in ROW.items() if key != "petal_width"}]},
     "$.instances[0].petal_width", "missing feature 'measurements': expected a list of 4 numbers under "
     "'measurements', or its columns sepal_length, sepal_width, petal_length, petal_width"),
    ({"instances": [{**ROW, "sepal_width": "wide"}]}, "$.instances[0].sepal_width",
     "expected a number for feature 'measurements'; received a string ('wide')"),
    ({"instances": [{**ROW, "sepal_width": None}]}, "$.instances[0].sepal_width",
     "a missing value (null), and feature 'measurements' takes no missing values (its missing.strategy is error "
     "or drop); expected a number"),
    ({"instances": [{"measurements": [1, 2, 3]}]}, "$.instances[0].measurements",
     "expected a list of 4 numbers for feature 'measurements'; received a list of 3 numbers"),
    ({"instances": [[1, 2, True, 4]]}, "$.instances[0].measurements[2]",
     "expected a number for feature 'measurements'; received a boolean (true)"),
    ({"instances": []}, "$.instances", "expected a non-empty list of examples; received a list of 0 items"),
    ({"rows": []}, "$.rows", "'rows' is not a key of the request. Expected 'context', 'inputs', 'instances' or "
                             "'signature_name'."),
    ({"context": {}}, "$", "expected exactly one of 'instances' (row format) or 'inputs' (columnar format); "
                           "received neither"),
    ({"inputs": {"sepal_length": [1.0, 2.0], "sepal_width": [1.0]}}, "$.inputs.sepal_width",
     "expected 2 values (one per example, as the first input has); received 1"),
    ([1, 2], "$", "expected a JSON object with 'instances' or 'inputs'; received a list of 2 items"),
]


@pytest.mark.parametrize("body, field, message", BAD_REQUESTS, ids=[field for _, field, _ in BAD_REQUESTS])
def test_a_bad_request_is_a_400_naming_the_field_and_what_was_expected(client, body, field, message):
    answer = client.post("/v1/models/iris:predict", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": f"{field}: {message}", "field": field}


def test_bodies_that_are_not_json_too_large_or_for_another_model(client):
    answer = client.post("/v1/models/iris:predict", content=b"{\"instances\": [")
    assert (answer.status_code, answer.json()["field"]) == (400, "$")
    assert answer.json()["error"].startswith("$: the body is not JSON: Expecting value at line 1")
    assert client.post("/v1/models/iris:predict", content=b"\xff\xfe").json()["error"] == \
        "$: the body is not UTF-8 text; expected a JSON object"
    large = client.post("/v1/models/iris:predict", json={"instances": [ROW] * 100})
    assert large.status_code == 413
    assert large.json()["error"].startswith("$: the body has ") and "over the limit of 4096" in large.json()["error"]
    other = client.post("/v1/models/wine:predict", json={"instances": [ROW]})
    assert (other.status_code, other.json()["error"]) == (404, "no model 'wine'; this server serves 'iris'")
    assert client.get("/v1/models/iris/versions/7").status_code == 404
    assert client.post("/v1/models/iris:regress", json={"examples": [ROW]}).json()["error"] == \
        ":regress answers for a model of one value label, and this model's labels are species (categorical); " \
        "use :predict"
    assert client.get("/nowhere").json() == {"error": "no such route: GET /nowhere", "field": ""}


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)
KEYS = st.sampled_from(["measurements", *IRIS_COLUMNS, "b64", "species", ""])
ROWS_LIKE = st.fixed_dictionaries({"instances": st.lists(st.dictionaries(KEYS, JSON, max_size=5) | JSON,
                                                         max_size=3)}) | \
    st.fixed_dictionaries({"inputs": st.dictionaries(KEYS, st.lists(JSON, max_size=3) | JSON, max_size=5) | JSON})


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=JSON | ROWS_LIKE | st.binary(max_size=64), verb=st.sampled_from(["predict", "classify", "regress"]))
def test_no_body_gets_a_500(client, body, verb):
    if verb != "predict" and isinstance(body, dict) and "instances" in body:
        body = {"examples": body["instances"]}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = client.post(f"/v1/models/iris:{verb}", content=content)
    assert answer.status_code in (200, 400), answer.text
    assert set(answer.json()) <= {"predictions", "outputs", "results", "error", "field"}


def test_the_token_guards_every_route_but_healthz(served):
    with TestClient(create_app(served, ServeOptions(token=TOKEN))) as guarded:
        for method, path in [("get", "/v1/models/iris"), ("get", "/v1/models/iris/metadata"), ("get", "/metrics"),
                             ("get", "/"), ("post", "/v1/models/iris:predict")]:
            for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]:
                answer = getattr(guarded, method)(path, headers=headers)
                assert answer.status_code == 401, (path, headers)
                assert answer.headers["www-authenticate"] == "Bearer"
                assert answer.json()["error"] == "missing or wrong token: send `Authorization: Bearer <token>`"
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert guarded.get("/healthz").status_code == 200
        assert guarded.get("/v1/models/iris", headers=good).status_code == 200
        assert guarded.post("/v1/models/iris:predict", headers=good, json={"instances": [ROW]}).status_code == 200
        assert guarded.get(f"/?token={TOKEN}").status_code == 200
        assert guarded.get("/v1/models/iris?token=" + TOKEN).status_code == 401  # the query token is the page's only


def test_metrics_count_requests_by_status_latency_and_batch_sizes(served):
    with TestClient(create_app(served)) as fresh:
        fresh.post("/v1/models/iris:predict", json={"instances": [ROW, ROW, ROW]})
        fresh.post("/v1/models/iris:predict", json={"instances": [{}]})
        text = fresh.get("/metrics").text
    assert 'modelctl_serve_requests_total{route="predict",status="200"} 1.0' in text
    assert 'modelctl_serve_requests_total{route="predict",status="400"} 1.0' in text
    assert 'modelctl_serve_request_seconds_count{route="predict"} 2.0' in text
    assert 'modelctl_serve_batch_size_bucket{le="2.0"} 0.0' in text
    assert 'modelctl_serve_batch_size_bucket{le="4.0"} 1.0' in text
    assert "modelctl_serve_batch_size_count 1.0" in text


def test_concurrent_requests_are_run_in_batches_of_at_most_max_batch():
    calls = []

    def scores(values):
        calls.append(len(values["x"]))
        return {"y": values["x"] * 2}

    async def requests(batcher, counts):
        async def one(start, count):
            values = {"x": np.arange(start, start + count, dtype=np.float32)}
            return start, count, await batcher.submit(values, count)

        answers = await asyncio.gather(*(one(10 * index, count) for index, count in enumerate(counts)))
        await batcher.close()
        return answers

    batcher = Batcher(scores, max_batch=8, timeout_ms=200)
    answers = asyncio.run(requests(batcher, [3, 3, 1, 3, 2, 9]))
    for start, count, outputs in answers:  # each request gets its own rows
        assert outputs["y"].tolist() == [2.0 * value for value in range(start, start + count)]
    # 3+3+1 fit, the next 3 starts a new batch; 9 > max_batch runs as 8, then 1
    assert calls == [7, 5, 8, 1]

    calls.clear()
    answers = asyncio.run(requests(Batcher(scores, max_batch=1, timeout_ms=200), [1, 1, 1]))
    assert calls == [1, 1, 1]


def test_a_request_that_fails_its_batch_fails_alone():
    def scores(values):
        if (values["x"] < 0).any():
            raise ValueError("negative")
        return {"y": values["x"] + 1}

    async def requests():
        batcher = Batcher(scores, max_batch=8, timeout_ms=200)
        answers = await asyncio.gather(*(batcher.submit({"x": np.array([value], dtype=np.float32)}, 1)
                                         for value in (1.0, -1.0, 2.0)), return_exceptions=True)
        await batcher.close()
        return answers

    first, second, third = asyncio.run(requests())
    assert (first["y"].tolist(), third["y"].tolist()) == ([2.0], [3.0])
    assert isinstance(second, ValueError) and str(second) == "negative"


def test_a_backend_the_run_was_not_exported_to_is_refused(run_dir):
    tflite = run_dir / "export" / "model.tflite"
    with pytest.raises(ServeError, match=re.escape(f"the run has no tflite export ({tflite}); write it with "
                                                   f"`modelctl export {run_dir} --format tflite`")):
        open_model(run_dir, backend="tflite")
    with pytest.raises(ServeError, match=r"'onx' is not a known backend\. Expected one of .*Did you mean 'onnx'\?"):
        open_model(run_dir, backend="onx")
    with pytest.raises(ServeError, match="a onnx artifact, and --backend asks for keras"):
        open_model(run_dir / "export" / "model.onnx", backend="keras")


def test_the_onnx_backend_answers_without_importing_tensorflow(run_dir):
    script = (f"import sys, json\nfrom starlette.testclient import TestClient\n"
              f"from modelctl.serve import create_app, open_model\n"
              f"with TestClient(create_app(open_model({str(run_dir)!r}))) as client:\n"
              f"    answer = client.post('/v1/models/iris:predict', json={{'instances': [[5.1, 3.5, 1.4, 0.2]]}})\n"
              f"print(answer.status_code, sorted(name for name in ('tensorflow', 'keras', 'onnx') "
              f"if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "200 []", done.stderr[-3000:]


def test_the_serve_command_answers_over_http_and_exits_0_on_sigterm(run_dir):
    """(A request in flight when SIGTERM comes is answered: tests/test_serve_limits.py.)"""
    environment = {**os.environ, "MODELCTL_SERVE_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, "-c", "from modelctl.cli.app import main; main()", "serve",
                                str(run_dir.parent), "--port", "0"], stderr=subprocess.PIPE, text=True,
                               env=environment)
    try:
        lines = []
        while not lines or not lines[-1].startswith("listening on "):
            line = process.stderr.readline()
            assert line, "".join(lines) + process.stderr.read()
            lines.append(line)
        version = re.sub(r"\D", "", run_dir.name)
        assert lines[0].startswith(f"serving iris version {version} (onnx: ")
        url = re.match(r"listening on (http://127\.0\.0\.1:\d+) \(bearer token required", lines[-1])[1]

        def call(path, body=None, token=TOKEN):
            request = urllib.request.Request(url + path, json.dumps(body).encode() if body else None,
                                             {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        assert call("/healthz", token="none") == (200, {"status": "ok"})
        assert call("/v1/models/iris", token="wrong")[0] == 401
        assert call("/v1/models/iris")[1]["model_version_status"][0]["state"] == "AVAILABLE"
        status, body = call("/v1/models/iris:predict", {"instances": [ROW]})
        assert status == 200 and body["predictions"][0]["species"] in ("setosa", "versicolor", "virginica")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def listening(served):
    """The app served by uvicorn on a free port in a thread of this process, with the token; its base URL."""
    import uvicorn

    config = uvicorn.Config(create_app(served, ServeOptions(token=TOKEN)), host="127.0.0.1", port=0,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not (server.started and server.servers) and time.monotonic() < end:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(30)


def test_the_page_predicts_from_its_form_in_a_real_browser(listening, client):
    """Debian's chromium, headless, driven by Playwright (installed from Debian's packages when missing)."""
    from playwright.sync_api import sync_playwright

    chromium = debian_program("chromium", package="chromium")

    row = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
    expected = client.post("/v1/models/iris:predict", json={"instances": [row]}).json()["predictions"][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox",
                                                                             "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{listening}/?token={TOKEN}")
            assert page.title() == "iris"
            assert page.input_value("input[name=sepal_length]") != ""  # prefilled with the training mean
            for column, value in row.items():
                page.fill(f"input[name={column}]", str(value))
            page.click("#predict")
            page.wait_for_selector(".predicted")
            assert page.inner_text(".predicted") == f"species: {expected['species']}"
            bars = page.query_selector_all(".bar")
            assert [bar.get_attribute("data-class") for bar in bars] == ["setosa", "versicolor", "virginica"]
            for bar in bars:
                shown = float(bar.query_selector(".value").inner_text())
                assert shown == pytest.approx(expected[f"species_{bar.get_attribute('data-class')}"], abs=1e-4)
                width = bar.query_selector(".fill").evaluate("element => element.style.width")
                assert float(width.rstrip("%")) == pytest.approx(100 * shown, abs=0.1)

            page.fill("input[name=sepal_width]", "")
            page.click("#predict")
            page.wait_for_selector("#error")
            assert page.inner_text("#error") == (
                "$.instances[0].sepal_width: a missing value (null), and feature 'measurements' takes no missing "
                "values (its missing.strategy is error or drop); expected a number")
        finally:
            browser.close()


def test_workers_serve_the_port_from_several_processes_and_stop_on_sigterm(run_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", "from modelctl.cli.app import main; main()", "serve",
                                str(run_dir), "--port", str(port), "--workers", "2"], stderr=subprocess.PIPE, text=True)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/iris:predict",
                                         json.dumps({"instances": [ROW]}).encode())
        end, answers = time.monotonic() + 120, []
        while len(answers) < 4 and time.monotonic() < end:
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answers.append(json.loads(answer.read())["predictions"][0]["species"])
            except OSError:
                time.sleep(0.1)
        assert len(answers) == 4 and len(set(answers)) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, process.stderr.read()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
