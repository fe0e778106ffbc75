"""What `modelctl serve` answers to requests that production clients and attackers send: numbers beyond float32,
outputs that are not finite, huge integers, lone surrogates, TensorFlow Serving's own request and response
shapes, conflicting keys, hosts, origins and names. In-process, through Starlette's TestClient, with an iris run
exported to ONNX (the real model) or stand-in models of NumPy functions."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from conftest import IRIS_COLUMNS
from serve_support import IRIS_ROW, VECTOR, TestClient, stand_in, train_iris, two_labels

from modelctl.serve import ServeError, ServeOptions, create_app, open_model
from modelctl.serve.instances import FLOAT32_MAX

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_iris(tmp_path_factory.mktemp("serve-requests"))


@pytest.fixture(scope="module")
def served(run_dir):
    return open_model(run_dir)


@pytest.fixture(scope="module")
def client(served):
    with TestClient(create_app(served, ServeOptions(version_labels={"stable": served.version}))) as client:
        yield client


def test_the_server_answers_through_the_predictor_of_modelctl_predict(served, run_dir):
    from modelctl.predict import Predictor

    assert isinstance(served.predictor, Predictor)
    assert (served.backend, served.path, served.labels) == ("onnx", run_dir / "export" / "model.onnx",
                                                            served.predictor.fitted.labels)


# Numbers beyond float32, and outputs that are not finite (issue item 4) -------------------------------------------

@pytest.mark.parametrize("route, body, field", [
    ("predict", {"instances": [[1e39, 3.5, 1.4, 0.2]]}, "$.instances[0].measurements[0]"),
    ("predict", {"instances": [{**IRIS_ROW, "petal_width": -1e39}]}, "$.instances[0].petal_width"),
    ("predict", {"inputs": {"measurements": [VECTOR, [5.1, 1e39, 1.4, 0.2]]}}, "$.inputs.measurements[1][1]"),
    ("classify", {"examples": [[1e39, 3.5, 1.4, 0.2]]}, "$.examples[0].measurements[0]"),
    ("predict", {"instances": [[10**39, 3.5, 1.4, 0.2]]}, "$.instances[0].measurements[0]"),
])
def test_a_number_beyond_float32_is_a_400_at_its_path(client, route, body, field):
    answer = client.post(f"/v1/models/iris:{route}", json=body)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert "is outside the range of the model's float32 inputs (at most 3.40282e+38 in size)" in answer.json()["error"]


@pytest.mark.parametrize("route, body, field", [
    ("predict", {"instances": [VECTOR, [3.4e38, 3.5, 1.4, 0.2]]}, "$.instances[1]"),
    ("predict", {"inputs": {"measurements": [VECTOR, [3.4e38, 3.5, 1.4, 0.2]]}}, "$.inputs"),
    ("classify", {"examples": [[3.4e38, 3.5, 1.4, 0.2]]}, "$.examples[0]"),
    ("predict?response=tf-serving", {"instances": [[3.4e38, 3.5, 1.4, 0.2]]}, "$.instances[0]"),
])
def test_an_output_that_is_not_finite_is_a_422_never_a_class(client, served, route, body, field):
    # 3.4e38 is finite in float32, and overflows the standardization inside the network.
    assert 3.4e38 <= FLOAT32_MAX
    outputs = served.predictor.scores({"measurements": np.array([[3.4e38, 3.5, 1.4, 0.2]], dtype=np.float32)})
    assert not np.isfinite(outputs["species"]).all()  # the model itself, checked independently of the server
    answer = client.post(f"/v1/models/iris:{route}", json=body)
    assert answer.status_code == 422
    example = 2 if field == "$.instances[1]" or field == "$.inputs" else 1
    assert answer.json() == {"field": field, "error": (
        f"{field}: the model's output for example {example} is not a finite number (NaN or infinity), so it predicts "
        "nothing: an input far outside the range the model was trained on overflows it")}


# Malformed values are 400s, not 500s (item 5) ----------------------------------------------------------------------

def test_a_huge_integer_literal_and_lone_surrogates_are_400s(client):
    digits = client.post("/v1/models/iris:predict", content=b'{"instances": [[' + b"7" * 5000 + b', 3.5, 1.4, 0.2]]}')
    assert (digits.status_code, digits.json()["field"]) == (400, "$")
    assert digits.json()["error"] == ("$: the body holds an integer of more than 4300 digits, which no model input "
                                      "takes")
    key = client.post("/v1/models/iris:predict", content=b'{"instances": [{"\\ud800": 1.0}]}')
    assert key.status_code == 400 and key.json()["field"] == "$.instances[0]['\\ud800']"
    assert key.headers["content-type"] == "application/json"
    name = client.post("/v1/models/iris:predict", content=b'{"instances": [[5.1, 3.5, 1.4, 0.2]], '
                                                         b'"signature_name": "\\udfff"}')
    assert name.status_code == 400 and name.json()["field"] == "$.signature_name"


@pytest.fixture(scope="module")
def text_client():
    """A stand-in with one text feature `review` (column `text`) that scores a review by its length."""
    features = {"review": {"type": "text", "column": "text"}}
    fitted = {"features": {"review": {"type": "text", "column": "text", "vocabulary": ["motor"]}},
              "labels": {"long": {"type": "binary", "column": "long", "classes": ["no", "yes"]}}}

    def scores(values):
        lengths = np.array([len(str(text)) for text in values["review"]], dtype=np.float32).reshape(-1, 1)
        return {"long": 1 / (1 + np.exp(10 - lengths))}

    with TestClient(create_app(stand_in(features, fitted, scores, name="reviews"))) as client:
        yield client


def test_text_takes_b64_as_tensorflow_serving_decodes_it_and_refuses_lone_surrogates(text_client):
    plain = text_client.post("/v1/models/reviews:predict", json={"instances": [{"review": "a quiet motor"}]})
    encoded = base64.b64encode("a quiet motor".encode()).decode()
    b64 = text_client.post("/v1/models/reviews:predict", json={"instances": [{"review": {"b64": encoded}}]})
    assert plain.status_code == b64.status_code == 200
    assert plain.json() == b64.json()
    columnar = text_client.post("/v1/models/reviews:predict", json={"inputs": {"text": [{"b64": encoded}]}})
    assert columnar.json()["outputs"]["long"] == [plain.json()["predictions"][0]["long"]]
    bad = text_client.post("/v1/models/reviews:predict", json={"instances": [{"review": {"b64": "//79"}}]})
    assert bad.status_code == 400
    assert bad.json()["error"] == ("$.instances[0].review.b64: feature 'review': not base64 of UTF-8 text; expected a "
                                   "string (or {\"b64\": \"...\"} of UTF-8 text)")
    lone = text_client.post("/v1/models/reviews:predict", content=b'{"instances": [{"review": "quiet \\ud800"}]}')
    assert lone.status_code == 400
    assert lone.json()["error"] == ("$.instances[0].review: feature 'review': not valid Unicode text: a lone UTF-16 "
                                    "surrogate (\\ud800) at character 6")
    both = text_client.post("/v1/models/reviews:predict", json={"instances": [{"review": "a", "text": "b"}]})
    assert both.status_code == 400 and both.json()["error"] == (
        "$.instances[0].text: feature 'review' is given both whole ('review') and by its column 'text'; give it one "
        "way")


# TensorFlow Serving's request and response shapes, metadata and version labels (item 9) ---------------------------

def test_signature_name_is_checked(client):
    for name in ("serving_default", ""):  # empty: the default signature, as TensorFlow Serving reads it
        good = client.post("/v1/models/iris:predict", json={"signature_name": name, "instances": [VECTOR]})
        assert good.status_code == 200
    bad = client.post("/v1/models/iris:predict", json={"signature_name": "classify_x", "instances": [VECTOR]})
    assert (bad.status_code, bad.json()) == (400, {
        "field": "$.signature_name",
        "error": "$.signature_name: no signature 'classify_x'; this model's only signature is 'serving_default'"})
    for value, received in ((3, "a number (3)"), (None, "null"), (["serving_default"], "a list of 1 item")):
        wrong = client.post("/v1/models/iris:classify", json={"signature_name": value, "examples": [VECTOR]})
        assert (wrong.status_code, wrong.json()["error"]) == (400, (
            f"$.signature_name: expected a signature's name (a string) such as 'serving_default'; received "
            f"{received}"))


@pytest.mark.parametrize("route, body, message", [
    ("predict", {"instances": [VECTOR], "signature_nme": "serving_default"},
     "$.signature_nme: 'signature_nme' is not a key of the request. Expected 'context', 'inputs', 'instances' or "
     "'signature_name'. Did you mean 'signature_name'?"),
    ("predict", {"instance": [VECTOR]}, "$.instance: 'instance' is not a key of the request. Expected 'context', "
                                       "'inputs', 'instances' or 'signature_name'. Did you mean 'instances'?"),
    ("classify", {"examples": [IRIS_ROW], "contxt": {"sepal_width": 3.5}},
     "$.contxt: 'contxt' is not a key of the request. Expected 'context', 'examples', 'inputs' or 'signature_name'. "
     "Did you mean 'context'?"),
])
def test_a_misspelt_key_of_the_body_is_refused_rather_than_ignored(client, route, body, message):
    answer = client.post(f"/v1/models/iris:{route}", json=body)
    assert (answer.status_code, answer.json()["error"]) == (400, message)


def test_tf_serving_responses_are_the_output_tensors(client, served):
    expected = served.predictor.scores({"measurements": np.array([VECTOR, [6.7, 3.0, 5.2, 2.3]],
                                                                 dtype=np.float32)})["species"]
    rows = client.post("/v1/models/iris:predict?response=tf-serving",
                       json={"instances": [VECTOR, [6.7, 3.0, 5.2, 2.3]]})
    assert rows.status_code == 200 and list(rows.json()) == ["predictions"]
    np.testing.assert_allclose(rows.json()["predictions"], expected, rtol=1e-6)  # a plain list: one output
    columns = client.post("/v1/models/iris:predict?response=tf-serving",
                          json={"inputs": {"measurements": [VECTOR, [6.7, 3.0, 5.2, 2.3]]}})
    np.testing.assert_allclose(columns.json()["outputs"], expected, rtol=1e-6)
    with TestClient(create_app(served, ServeOptions(response="tf-serving"))) as tf_serving:
        by_default = tf_serving.post("/v1/models/iris:predict", json={"instances": [VECTOR, [6.7, 3.0, 5.2, 2.3]]})
        assert by_default.json() == rows.json()
        readable = tf_serving.post("/v1/models/iris:predict?response=modelctl", json={"instances": [VECTOR]})
        assert readable.json()["predictions"][0]["species"] in ("setosa", "versicolor", "virginica")
    assert client.post("/v1/models/iris:predict?response=xml", json={"instances": [VECTOR]}).json()["error"] == (
        "invalid value for the query parameter 'response'. Expected one of modelctl, tf-serving. Received: 'xml'")


def test_tf_serving_responses_of_several_outputs_are_objects_by_output():
    with TestClient(create_app(two_labels(), ServeOptions(response="tf-serving"))) as client:
        rows = client.post("/v1/models/two:predict", json={"instances": [{"x": 0.0, "y": 1.0}, {"x": 2.0, "y": 2.0}]})
        columns = client.post("/v1/models/two:predict", json={"inputs": {"x": [0.0, 2.0], "y": [1.0, 2.0]}})
        readable = client.post("/v1/models/two:predict?response=modelctl", json={"instances": [{"x": 0.0, "y": 1.0}]})
    first = [np.exp(0) / (np.exp(0) + np.exp(1)), np.exp(1) / (np.exp(0) + np.exp(1))]
    [one, two] = rows.json()["predictions"]
    assert list(one) == ["kind", "size"]
    np.testing.assert_allclose(one["kind"], first, rtol=1e-6)
    np.testing.assert_allclose([one["size"], two["size"]], [[1.0], [4.0]])
    np.testing.assert_allclose(two["kind"], [0.5, 0.5])
    assert list(columns.json()["outputs"]) == ["kind", "size"]
    np.testing.assert_allclose(columns.json()["outputs"]["size"], [[1.0], [4.0]])
    np.testing.assert_allclose(columns.json()["outputs"]["kind"], [first, [0.5, 0.5]], rtol=1e-6)
    assert readable.json()["predictions"][0]["kind"] == "b"


def test_metadata_gives_each_input_and_output_a_dtype_and_tensor_shape(client):
    signature = client.get("/v1/models/iris/metadata").json()["metadata"]["signature_def"]["signature_def"][
        "serving_default"]
    assert signature["inputs"]["measurements"]["dtype"] == "DT_FLOAT"
    assert signature["inputs"]["measurements"]["tensor_shape"] == {
        "dim": [{"size": "-1", "name": ""}, {"size": "4", "name": ""}], "unknown_rank": False}
    output = signature["outputs"]["species"]
    assert (output["dtype"], output["tensor_shape"]["dim"]) == ("DT_FLOAT", [{"size": "-1", "name": ""},
                                                                              {"size": "3", "name": ""}])


def test_version_labels_route_to_the_served_version(client, served):
    by_label = client.post("/v1/models/iris/labels/stable:predict", json={"instances": [VECTOR]})
    by_version = client.post(f"/v1/models/iris/versions/{served.version}:predict", json={"instances": [VECTOR]})
    assert by_label.status_code == 200 and by_label.json() == by_version.json()
    assert client.get("/v1/models/iris/labels/stable").json()["model_version_status"][0]["version"] == \
        str(served.version)
    unknown = client.post("/v1/models/iris/labels/canary:predict", json={"instances": [VECTOR]})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "model 'iris' has no version label 'canary'; its "
                                                                   "labels are stable")
    with pytest.raises(ServeError) as raised:
        create_app(served, ServeOptions(version_labels={"stable": 1}))
    assert str(raised.value) == (f"--version-labels stable=1: this server serves version {served.version} only; a "
                                 f"label names a version it serves, such as stable={served.version}")


@pytest.mark.parametrize("body, field, message", [
    ({"instances": [{"measurements": VECTOR, "sepal_length": 5.1}]}, "$.instances[0].sepal_length",
     "feature 'measurements' is given both whole ('measurements') and by its column 'sepal_length'; give it one way"),
    ({"context": {"sepal_width": 3.5}, "instances": [{**IRIS_ROW}]}, "$.instances[0].sepal_width",
     "'sepal_width' is given both in 'context' and in the example; give it in one of them"),
    ({"instances": [[[5.1], [3.5], [1.4], [0.2]]]}, "$.instances[0].measurements",
     "expected a list of 4 numbers for feature 'measurements'; received a list of shape [4, 1]"),
])
def test_conflicting_keys_and_misshapen_rows_are_refused(client, body, field, message):
    answer = client.post("/v1/models/iris:predict", json=body)
    assert (answer.status_code, answer.json()) == (400, {"field": field, "error": f"{field}: {message}"})


def test_context_gives_values_shared_by_every_example(client):
    shared = client.post("/v1/models/iris:predict", json={"context": {"sepal_width": 3.5, "petal_width": 0.2},
                                                          "instances": [{"sepal_length": 5.1, "petal_length": 1.4}]})
    assert shared.json() == client.post("/v1/models/iris:predict", json={"instances": [IRIS_ROW]}).json()


# Hosts, origins, names and what errors show (item 10) ---------------------------------------------------------------

def test_hosts_outside_allowed_hosts_are_refused_and_nothing_redirects_to_the_host_header(served):
    with TestClient(create_app(served), base_url="http://evil.example") as anyone:
        assert anyone.get("/v1/models", follow_redirects=False).status_code == 404  # no 307 to evil.example
    with TestClient(create_app(served, ServeOptions(allowed_hosts=("localhost", "127.0.0.1"))),
                    base_url="http://evil.example") as guarded:
        refused = guarded.post("/v1/models/iris:predict", json={"instances": [VECTOR]})
        assert (refused.status_code, refused.json()) == (400, {"field": "", "error": (
            "the Host header 'evil.example' is not one this server answers to; --allowed-hosts names those it does")})
        assert 'modelctl_serve_requests_total{route="predict",status="400"} 1.0' in \
            guarded.get("/metrics", headers={"Host": "127.0.0.1:8501"}).text
    with TestClient(create_app(served, ServeOptions(allowed_hosts=("[::1]", "*.example.org"))),
                    base_url="http://[::1]:8501") as ipv6:
        assert ipv6.post("/v1/models/iris:predict", json={"instances": [VECTOR]}).status_code == 200
        assert ipv6.get("/healthz", headers={"Host": "models.example.org"}).status_code == 200
        assert ipv6.get("/healthz", headers={"Host": "example.org"}).status_code == 400
        assert ipv6.get("/healthz", headers={"Host": "[::2]:8501"}).status_code == 400
    with TestClient(create_app(served, ServeOptions(allowed_hosts=("localhost",))),
                    base_url="http://localhost:8501") as local:
        assert local.post("/v1/models/iris:predict", json={"instances": [VECTOR]}).status_code == 200


def test_cors_origins_let_a_page_served_elsewhere_call_the_server(served):
    with TestClient(create_app(served, ServeOptions(cors_origins=("https://app.example",), token="t"))) as client:
        preflight = client.options("/v1/models/iris:predict", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200  # answered before the token check: a preflight carries no token
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        other = client.options("/v1/models/iris:predict", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        answer = client.post("/v1/models/iris:predict", json={"instances": [VECTOR]},
                             headers={"Origin": "https://app.example", "Authorization": "Bearer t"})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize("name", ["a/b", "a#b", "a?b", "a b", "a:predict", "", "-a"])
def test_a_name_a_url_cannot_hold_is_refused(run_dir, name):
    with pytest.raises(ServeError) as raised:
        open_model(run_dir, name=name)
    assert str(raised.value) == ("invalid value for --name. Expected 1 to 128 letters, digits, '_', '-' or '.', "
                                 f"starting with a letter or digit. Received: {name!r}")


def test_errors_show_no_object_representations():
    features = {"picture": {"type": "image", "column": "path", "size": [8, 8]}}
    fitted = {"features": {"picture": {"type": "image", "column": "path", "size": [8, 8], "channels": 3,
                                       "steps": [], "augmentation": []}},
              "labels": {"kind": {"type": "categorical", "column": "kind", "classes": ["a", "b"]}}}
    served = stand_in(features, fitted, lambda values: {"kind": np.full((len(values["picture"]), 2), 0.5)},
                      name="pictures")
    with TestClient(create_app(served)) as client:
        answer = client.post("/v1/models/pictures:predict",
                             json={"instances": [{"b64": base64.b64encode(b"not an image").decode()}]})
    assert answer.status_code == 400
    assert " at 0x" not in answer.text and "object" not in answer.text
    assert answer.json()["error"] == ("$.instances[0].picture.b64: feature 'picture': cannot be decoded as an image "
                                      "(UnidentifiedImageError: cannot identify image file the data)")


def test_binding_beyond_loopback_without_a_token_warns(run_dir, monkeypatch):
    from rich.console import Console

    from modelctl.cli import serve as command

    console = Console(record=True, width=300)
    served: list = []
    monkeypatch.setattr("modelctl.serve.serve", lambda *args, **kwargs: served.append(kwargs))
    monkeypatch.delenv("MODELCTL_SERVE_TOKEN", raising=False)
    options = dict(backend="auto", name=None, port=8501, max_batch=64, batch_timeout_ms=2.0, workers=1, token=None,
                   max_body_mb=16.0, max_rows=10_000, max_pixels=None, max_queue=256, timeout_ms=10_000.0,
                   decode_processes=1, threads=2, response="modelctl", version_labels=[], allowed_hosts=[],
                   cors_origins=[], max_connections=1000, header_timeout=10.0, grace_seconds=30.0, console=console)
    command.run_serve(str(run_dir), host="0.0.0.0", **options)
    assert console.export_text() == ("warning: listening on 0.0.0.0 without a token: anyone who can reach this port "
                                     "can use the model; set --token or $MODELCTL_SERVE_TOKEN\n")
    assert served[-1]["options"].allowed_hosts is None
    quiet = Console(record=True, width=300)
    command.run_serve(str(run_dir), host="127.0.0.1", **{**options, "console": quiet})
    assert quiet.export_text() == ""
    # On this machine's address, the Host header must name it (against DNS rebinding), unless told otherwise.
    assert served[-1]["options"].allowed_hosts == ("localhost", "127.0.0.1")
    command.run_serve(str(run_dir), host="::1", **{**options, "console": quiet})
    assert served[-1]["options"].allowed_hosts == ("localhost", "127.0.0.1", "[::1]")  # as a Host header writes it
    command.run_serve(str(run_dir), host="127.0.0.1", **{**options, "allowed_hosts": ["*"], "console": quiet})
    assert served[-1]["options"].allowed_hosts is None
    command.run_serve(str(run_dir), host="0.0.0.0", **{**options, "token": "t", "console": quiet,
                                                         "version_labels": ["stable=3,canary=4"]})
    assert quiet.export_text() == "" and served[-1]["options"].version_labels == {"stable": 3, "canary": 4}


def test_the_columns_of_a_request_are_named_by_feature_or_column_alike(client):
    by_columns = client.post("/v1/models/iris:predict", json={"instances": [IRIS_ROW]})
    by_feature = client.post("/v1/models/iris:predict", json={"instances": [{"measurements": VECTOR}]})
    assert by_columns.json() == by_feature.json()
    assert json.loads(client.get("/v1/models/iris/metadata").text)["modelctl"]["max_rows"] == 10_000
    assert IRIS_COLUMNS == list(IRIS_ROW)
