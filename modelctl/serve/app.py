"""The ASGI application of `modelctl serve`: TensorFlow Serving's REST API over one model, and a page to try it.

    app = create_app(open_model("runs/iris"), ServeOptions(token="s3cret"))

Routes (`<name>` is the model's name; `/versions/<version>` may follow it):

| route | answers |
| --- | --- |
| `POST /v1/models/<name>:predict` | `{"instances": [...]}` -> `{"predictions": [...]}`; `{"inputs": {...}}` -> `{"outputs": {...}}` |
| `POST /v1/models/<name>:classify` | `{"examples": [...]}` -> `{"results": [[[class, probability], ...], ...]}` (one class label) |
| `POST /v1/models/<name>:regress` | `{"examples": [...]}` -> `{"results": [value, ...]}` (one regression label of one value) |
| `GET /v1/models/<name>` | the version's status, as TensorFlow Serving gives it |
| `GET /v1/models/<name>/metadata` | inputs, outputs, class names, spec name and hash, backend |
| `GET /healthz` | `{"status": "ok"}`, never behind the token |
| `GET /metrics` | Prometheus's text format (see `modelctl.serve.metrics`) |
| `GET /` | a page with a form for the model's inputs, showing the prediction |

Each prediction is the row `modelctl predict` writes for the example (the
label's class and each class's probability, or the value), without `input`. A
request the model cannot take is answered 400 with `{"error": ..., "field":
"$.instances[0].sepal_length"}`; a body over the limit 413; a missing or wrong
token 401; an unknown model, version or route 404. With a token, every route
but `/healthz` requires `Authorization: Bearer <token>`; the page also takes it
as `/?token=<token>` and sends it with its own requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hmac
import json
import math
import re
import sys
import time
import traceback

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from modelctl.serve.batching import Batcher
from modelctl.serve.errors import RequestError
from modelctl.serve.instances import InputReader
from modelctl.serve.metrics import Metrics
from modelctl.serve.model import ServedModel

DEFAULT_MAX_BODY_BYTES = 16 * 2**20
"""Largest request body taken (16 MiB), unless `ServeOptions.max_body_bytes` says otherwise."""

TOKEN_VARIABLE = "MODELCTL_SERVE_TOKEN"
"""The environment variable `modelctl serve` reads the token from when `--token` is not given."""

_MODEL_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
                         r"(?::(?P<verb>[^/]*)|/(?P<resource>[^/]+))?$")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """How the server batches and what it accepts.

    Args:
        max_batch: most examples per model call (default 64; 1 serves each request by itself).
        batch_timeout_ms: longest wait for more requests to fill a batch, in milliseconds (default 2).
        token: the bearer token every route but `/healthz` requires; default None: no token.
        max_body_bytes: largest request body (default 16 MiB); a larger one is answered 413.
    """

    max_batch: int = 64
    batch_timeout_ms: float = 2.0
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def create_app(served: ServedModel, options: ServeOptions = ServeOptions()) -> Starlette:
    """The Starlette application serving `served` (see the module docstring)."""
    server = _Server(served, options)
    routes = [
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/metrics", server.metrics_text, methods=["GET"]),
        Route("/", server.page, methods=["GET"]),
        Route("/v1/models/{rest:path}", server.model_route, methods=["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await server.batcher.close()  # the server has answered every request by now

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: server.not_found, 405: server.not_allowed,
                                        RequestError: server.refused, Exception: server.failed})
    return _Guard(app, server)


class _Server:
    def __init__(self, served: ServedModel, options: ServeOptions):
        from modelctl.features import label_type

        self.served = served
        self.options = options
        self.reader = InputReader(served.features, served.fitted)
        self.metrics = Metrics(options.max_batch)
        self.batcher = Batcher(lambda columns: served.scores(self.reader.values(columns)), max_batch=options.max_batch,
                               timeout_ms=options.batch_timeout_ms, on_batch=self.metrics.batch_size.observe)
        self.label_types = {name: label_type(label.type) for name, label in served.labels.items()}

    # Routes ---------------------------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return _json({"status": "ok"})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.text(), media_type=self.metrics.content_type)

    async def page(self, request: Request) -> Response:
        from modelctl.serve.page import render_page

        return HTMLResponse(render_page(self.served, self.reader.fields))

    async def model_route(self, request: Request) -> Response:
        match = _MODEL_PATH.match(request.path_params["rest"])
        if match is None:
            raise RequestError("", f"no such route: {request.url.path}", 404)
        self._check_model(match["name"], match["version"])
        verb, resource = match["verb"], match["resource"]
        if request.method == "GET":
            if verb is None and resource is None:
                return _json(self.status())
            if verb is None and resource == "metadata":
                return _json(self.metadata())
        elif verb in ("predict", "classify", "regress"):
            body = await _read_json(request, self.options.max_body_bytes)
            return _json(await getattr(self, verb)(body))
        raise RequestError("", f"no such route: {request.method} {request.url.path}; the model's routes are "
                               f"POST :predict, :classify and :regress, GET /v1/models/{self.served.name} and "
                               f"GET /v1/models/{self.served.name}/metadata", 404)

    async def predict(self, body) -> dict:
        values, count, layout = self.reader.read(body)
        rows = self._rows(await self.batcher.submit(values, count), count)
        if layout == "row":
            return {"predictions": rows}
        return {"outputs": {key: [row[key] for row in rows] for key in rows[0]}}

    async def classify(self, body) -> dict:
        name, kind = self._one_label("classify", lambda kind: kind.classifies)
        values, count, _ = self.reader.read(body, rows_key="examples")
        scores = np.asarray((await self.batcher.submit(values, count))[name], dtype=np.float64).reshape(count, -1)
        classes = self.served.labels[name].classes or []
        return {"results": [[[label, _finite(value)] for label, value in zip(classes, kind.class_probabilities(row))]
                             for row in scores]}

    async def regress(self, body) -> dict:
        name, _ = self._one_label("regress", lambda kind: not kind.classifies)
        values, count, _ = self.reader.read(body, rows_key="examples")
        scores = np.asarray((await self.batcher.submit(values, count))[name], dtype=np.float64).reshape(count, -1)
        if scores.shape[1] != 1:
            raise RequestError("", f"regress answers one value per example, and label '{name}' has "
                                   f"{scores.shape[1]}; use :predict")
        return {"results": [_finite(row[0]) for row in scores]}

    def status(self) -> dict:
        return {"model_version_status": [{"version": str(self.served.version), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self) -> dict:
        """TensorFlow Serving's metadata answer, with the raw inputs the model takes and what it answers."""
        served = self.served
        inputs = {name: {"dtype": _dtype(field), "tensor_shape": _shape(field), **field.as_dict()}
                  for name, field in self.reader.fields.items()}
        outputs = {name: {"type": label.type, "classes": label.classes,
                          "prediction_keys": self._prediction_keys(name)}
                   for name, label in served.labels.items()}
        return {
            "model_spec": {"name": served.name, "signature_name": "serving_default",
                           "version": str(served.version)},
            "metadata": {"signature_def": {"signature_def": {"serving_default": {
                "inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}}}},
            "modelctl": {"spec_name": served.metadata.get("spec_name"), "spec_hash": served.metadata.get("spec_hash"),
                         "backend": served.backend, "class_names": {name: label.classes
                                                                    for name, label in served.labels.items()
                                                                    if label.classes},
                         "max_batch": self.options.max_batch, "batch_timeout_ms": self.options.batch_timeout_ms},
        }

    # Helpers --------------------------------------------------------------------------------------------------

    def _check_model(self, name: str, version: str | None) -> None:
        if name != self.served.name:
            raise RequestError("", f"no model '{name}'; this server serves '{self.served.name}'", 404)
        if version is not None and version != str(self.served.version):
            raise RequestError("", f"model '{name}' has no version {version}; it serves version "
                                   f"{self.served.version}", 404)

    def _one_label(self, verb: str, fits) -> tuple:
        found = [(name, kind) for name, kind in self.label_types.items() if fits(kind)]
        if len(found) != 1 or len(self.label_types) != 1:
            raise RequestError("", f":{verb} answers for a model of one {'class' if verb == 'classify' else 'value'} "
                                   f"label, and this model's labels are "
                                   f"{', '.join(f'{n} ({k.name})' for n, k in self.label_types.items())}; "
                                   "use :predict")
        return found[0]

    def _rows(self, scores: dict[str, np.ndarray], count: int) -> list[dict]:
        """The rows `modelctl predict` writes for the examples, without their `input` names."""
        from modelctl.export.predict import prediction_rows

        rows = prediction_rows([""] * count, scores, self.served.labels)
        return [{key: _finite(value) for key, value in row.items() if key != "input"} for row in rows]

    def _prediction_keys(self, label: str) -> list[str]:
        kind = self.label_types[label]
        classes = self.served.labels[label].classes or []
        width = kind.output_units({"classes": classes}) or 1
        return list(kind.predictions(label, np.full(width, 0.5), classes or ["0", "1"]))

    # Errors ---------------------------------------------------------------------------------------------------

    async def not_found(self, request: Request, error) -> Response:
        return _error(RequestError("", f"no such route: {request.method} {request.url.path}", 404))

    async def not_allowed(self, request: Request, error) -> Response:
        return _error(RequestError("", f"{request.method} is not allowed on {request.url.path}", 405))

    async def refused(self, request: Request, error: RequestError) -> Response:
        return _error(error)

    async def failed(self, request: Request, error: Exception) -> Response:
        traceback.print_exception(error, file=sys.stderr)  # a bug: the log keeps its traceback, the client not
        return _json({"error": f"internal error ({type(error).__name__}); the server log has the details",
                      "field": ""}, 500)


class _Guard:
    """The ASGI layer in front of the routes: the token, request errors as JSON, the metrics of every answer."""

    def __init__(self, app: Starlette, server: _Server):
        self.app = app
        self.server = server
        self.token = server.options.token.encode() if server.options.token else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        route = _route_name(scope)
        status = 500

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.token is not None and route != "healthz" and not self._authorized(scope):
                await _error(RequestError("", "missing or wrong token: send `Authorization: Bearer <token>`",
                                          401))(scope, receive, sending)
                return
            try:
                await self.app(scope, receive, sending)
            except RequestError as error:  # raised before a response started (Starlette re-raises them)
                await _error(error)(scope, receive, sending)
        finally:
            self.server.metrics.observe(route, status, time.perf_counter() - start)

    def _authorized(self, scope) -> bool:
        given = b""
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    given = b""
                break
        if not given and _route_name(scope) == "page":
            from urllib.parse import parse_qs

            given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0].encode()
        return hmac.compare_digest(given.strip(), self.token)


def _route_name(scope) -> str:
    path = scope.get("path", "")
    if path in ("/healthz", "/metrics"):
        return path[1:]
    if path == "/":
        return "page"
    if path.startswith("/v1/models/"):
        match = _MODEL_PATH.match(path[len("/v1/models/"):])
        if match is not None:
            if match["verb"] in ("predict", "classify", "regress"):
                return match["verb"]
            if match["verb"] is None:
                return "metadata" if match["resource"] == "metadata" else "status" if match["resource"] is None \
                    else "other"
    return "other"


async def _read_json(request: Request, limit: int):
    """The request's JSON body, read up to `limit` bytes.

    Raises:
        RequestError: a body over `limit` (413), not UTF-8 JSON (400).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError("$", f"the body has {int(declared)} bytes, over the limit of {limit}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError("$", f"the body is over the limit of {limit} bytes", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise RequestError("$", "the body is empty; expected a JSON object such as {\"instances\": [...]}")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError("$", "the body is not UTF-8 text; expected a JSON object") from None
    except json.JSONDecodeError as error:
        raise RequestError("$", f"the body is not JSON: {error.msg} at line {error.lineno} column "
                                f"{error.colno}") from None
    except RecursionError:
        raise RequestError("$", "the body is nested too deeply") from None


def _finite(value):
    """A number JSON can hold: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _json(content, status: int = 200) -> Response:
    return Response(json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")), status,
                    media_type="application/json")


def _error(error: RequestError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    response = _json(error.as_dict(), error.status)
    if headers:
        response.headers.update(headers)
    return response


def _dtype(field) -> str:
    return {"numbers": "DT_FLOAT", "files": "DT_STRING", "text": "DT_STRING"}[field.kind]


def _shape(field) -> dict:
    dims = [-1, *(field.shape or ((field.width,) if field.kind == "numbers" else ()))]
    return {"dim": [{"size": str(size), "name": ""} for size in dims], "unknown_rank": False}


__all__ = ["DEFAULT_MAX_BODY_BYTES", "ServeOptions", "TOKEN_VARIABLE", "create_app"]
