"""The ASGI application of `modelctl serve`: TensorFlow Serving's REST API over one model, and a page to try it.

    app = create_app(open_model("runs/iris"), ServeOptions(token="s3cret"))

Routes (`<name>` is the model's name; `/versions/<version>` or `/labels/<label>` may follow it):

| route | answers |
| --- | --- |
| `POST /v1/models/<name>:predict` | `{"instances": [...]}` -> `{"predictions": [...]}`; `{"inputs": {...}}` -> `{"outputs": ...}` |
| `POST /v1/models/<name>:classify` | `{"examples": [...]}` -> `{"results": [[[class, probability], ...], ...]}` (one class label) |
| `POST /v1/models/<name>:regress` | `{"examples": [...]}` -> `{"results": [value, ...]}` (one regression label of one value) |
| `GET /v1/models/<name>` | the version's status, as TensorFlow Serving gives it |
| `GET /v1/models/<name>/metadata` | the signature's inputs and outputs (dtype, tensor_shape), class names, spec name and hash |
| `GET /healthz` | `{"status": "ok"}`, never behind the token |
| `GET /metrics` | Prometheus's text format (see `modelctl.serve.metrics`) |
| `GET /` | a page with a form for the model's inputs, showing the prediction |

Answers come in one of two shapes (`ServeOptions.response`): `modelctl` (the
default) gives each prediction as the row `modelctl predict` writes for the
example (the label's class and each class's probability, or the value), without
`input`; `tf-serving` gives the output tensors as TensorFlow Serving does (a
list of each example's output for a model of one label, an object of them by
label for several), for clients written against it. The default stays the
readable one, which the page and existing clients read; a request may ask for
either with `?response=modelctl` or `?response=tf-serving`.

A request the model cannot take is answered 400 with `{"error": ..., "field":
"$.instances[0].sepal_length"}`; a body, request or image over its limit 413; a
missing or wrong token 401; an unknown model, version, label or route 404; an
output that is not a finite number 422 (never a class); a request the server
has no room or time for 503 with `Retry-After` (`max_queue`, `timeout_ms`). With
a token, every route but `/healthz` requires `Authorization: Bearer <token>`;
the page also takes it as `/?token=<token>` and sends it with its own requests.

Every CPU-heavy step of a request runs off the event loop
(`modelctl.serve.work`): a large body is decoded and checked in a worker
process, the model runs in its own thread (`modelctl.serve.batching`), a large
answer is built in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import re
import sys
import time
import traceback

import numpy as np
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from modelctl.serve.batching import Batcher
from modelctl.serve.errors import RequestError
from modelctl.serve.instances import DEFAULT_MAX_ROWS, SIGNATURE, InputReader, without_reprs
from modelctl.serve.metrics import Metrics, process_ended
from modelctl.serve.model import ServedModel
from modelctl.serve.work import RequestWork

DEFAULT_MAX_BODY_BYTES = 16 * 2**20
"""Largest request body taken (16 MiB), unless `ServeOptions.max_body_bytes` says otherwise."""

DEFAULT_MAX_QUEUE = 256
"""Most model requests in the server at once (read, waiting, running or being answered) unless told otherwise."""

DEFAULT_TIMEOUT_MS = 10_000.0
"""A model request's deadline from its arrival, unless told otherwise."""

RETRY_AFTER_SECONDS = 1
"""What `Retry-After` says on a 503."""

RESPONSES = ("modelctl", "tf-serving")
"""The shapes of `:predict` answers (see the module docstring)."""

TOKEN_VARIABLE = "MODELCTL_SERVE_TOKEN"
"""The environment variable `modelctl serve` reads the token from when `--token` is not given."""

_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
"""A version label, as TensorFlow Serving takes them."""

_MODEL_PATH = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                         r"(?::(?P<verb>[^/]*)|/(?P<resource>[^/]+))?$")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """How the server batches, what it accepts and how much it takes on.

    Args:
        max_batch: most examples per model call (default 64; 1 serves each example by itself); a request of more
            runs in batches of this size.
        batch_timeout_ms: longest wait for requests on their way to fill a batch, in milliseconds (default 2);
            with none on the way, a batch runs at once.
        token: the bearer token every route but `/healthz` requires; default None: no token.
        max_body_bytes: largest request body (default 16 MiB); a larger one is answered 413.
        max_rows: most examples in one request (default 10,000); more are answered 413.
        max_pixels: most pixels in one image; default None: 16 times the model's input size, at least a megapixel.
        max_queue: most model requests in the server at once (default 256); one more is answered 503 with
            `Retry-After` before its body is read.
        timeout_ms: a model request's deadline from its arrival, in milliseconds (default 10,000): one whose
            examples have not run by then is answered 503 with `Retry-After`, and dropped.
        decode_processes: processes that decode large bodies off the event loop (default 1; 0: threads).
        threads: threads that build large answers (default 2).
        response: the shape of `:predict` answers, `modelctl` (default) or `tf-serving` (see the module docstring).
        version_labels: label -> version, for `/v1/models/<name>/labels/<label>` (TensorFlow Serving's version
            labels); each must name the served version. Default: none.
        allowed_hosts: the `Host` header values taken, against DNS rebinding (`*.example.com` patterns allowed;
            `[::1]` for an IPv6 address); others are answered 400. Default None: any.
        cors_origins: origins whose pages may call the server (Starlette's `CORSMiddleware`; `*` for any);
            default none.
    """

    max_batch: int = 64
    batch_timeout_ms: float = 2.0
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_pixels: int | None = None
    max_queue: int = DEFAULT_MAX_QUEUE
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    decode_processes: int = 1
    threads: int = 2
    response: str = "modelctl"
    version_labels: dict = dataclasses.field(default_factory=dict)
    allowed_hosts: tuple | None = None
    cors_origins: tuple = ()


def create_app(served: ServedModel, options: ServeOptions = ServeOptions()):
    """The ASGI application serving `served` (see the module docstring): Starlette's routes behind the token
    check, behind the host check and CORS when `options` ask for them."""
    server = _Server(served, options)
    routes = [
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/metrics", server.metrics_text, methods=["GET"]),
        Route("/", server.page, methods=["GET"]),
        Route("/v1/models/{rest:path}", server.model_route, methods=["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        server.work.start()
        yield
        await server.batcher.close()  # the server has answered every request by now
        server.work.close()
        process_ended()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: server.not_found, 405: server.not_allowed,
                                        RequestError: server.refused, Exception: server.failed})
    # A redirect would be built from the request's Host header; a wrong path is a 404 instead.
    app.router.redirect_slashes = False
    asgi = _Guard(app, server)
    if options.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        asgi = CORSMiddleware(asgi, allow_origins=list(options.cors_origins), allow_methods=["GET", "POST"],
                              allow_headers=["Authorization", "Content-Type"])
    if options.allowed_hosts:
        asgi = _Hosts(asgi, server)
    return asgi


class _Server:
    def __init__(self, served: ServedModel, options: ServeOptions):
        from modelctl.features import label_type

        self.served = served
        self.options = options
        predictor = served.predictor
        self.reader = InputReader(predictor.features, predictor.fitted, max_rows=options.max_rows,
                                  max_pixels=options.max_pixels)
        self.metrics = Metrics(options.max_batch)
        self.batcher = Batcher(lambda columns: predictor.scores(self.reader.values(columns)),
                               max_batch=options.max_batch, timeout_ms=options.batch_timeout_ms,
                               on_batch=self.metrics.batch_size.observe)
        self.work = RequestWork(self.reader, processes=options.decode_processes, threads=options.threads)
        self.label_types = {name: label_type(label.type) for name, label in served.labels.items()}
        self.in_progress = 0
        _check_options(options, served)

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
        self._check_model(match["name"], match["version"], match["label"])
        verb, resource = match["verb"], match["resource"]
        if request.method == "GET":
            if verb is None and resource is None:
                return _json(self.status())
            if verb is None and resource == "metadata":
                return _json(self.metadata())
        elif verb in ("predict", "classify", "regress"):
            return await self.answer(request, verb)
        raise RequestError("", f"no such route: {request.method} {request.url.path}; the model's routes are "
                               f"POST :predict, :classify and :regress, GET /v1/models/{self.served.name} and "
                               f"GET /v1/models/{self.served.name}/metadata", 404)

    async def answer(self, request: Request, verb: str) -> Response:
        """A model request, from admission to its answer's bytes (see the module docstring)."""
        label = None if verb == "predict" else self._one_label(verb)
        response = _response(request, self.options.response)
        if self.in_progress >= self.options.max_queue:
            raise RequestError("", f"the server is at its limit of {self.options.max_queue} requests in progress "
                                   "(--max-queue); retry later", 503, retry_after=RETRY_AFTER_SECONDS)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.timeout_ms / 1000
        self.in_progress += 1
        self.metrics.in_progress.inc()
        ticket = self.batcher.expect()
        try:
            body = await _read_body(request, self.options.max_body_bytes, deadline)
            rows_key = "instances" if verb == "predict" else "examples"
            columns, count, layout = await self.work.read(body, rows_key)
            try:
                scores = await _by(deadline, self.batcher.submit(columns, count, ticket=ticket))
            except asyncio.TimeoutError:
                raise RequestError("", f"no answer within {self.options.timeout_ms:g} ms (the server's "
                                       "--timeout-ms): the model is busy; retry later", 503,
                                   retry_after=RETRY_AFTER_SECONDS) from None
            path = (lambda index: f"$.{rows_key}[{index}]") if layout == "row" else (lambda index: "$.inputs")
            _check_finite(scores, path)
            if verb == "predict":
                build = lambda: self._predictions(scores, count, layout, response=response)  # noqa: E731
            else:
                build = lambda: self._results(verb, label, scores, count=count)  # noqa: E731
            return Response(await self.work.answer(build, count), media_type="application/json")
        finally:
            ticket.close()
            self.in_progress -= 1
            self.metrics.in_progress.dec()

    def _predictions(self, scores: dict[str, np.ndarray], count: int, layout: str, *, response: str) -> bytes:
        if response == "tf-serving":
            tensors = {name: values.tolist() for name, values in scores.items()}
            if layout == "row":
                if len(tensors) == 1:
                    return _body({"predictions": next(iter(tensors.values()))})
                return _body({"predictions": [{name: values[index] for name, values in tensors.items()}
                                              for index in range(count)]})
            return _body({"outputs": next(iter(tensors.values())) if len(tensors) == 1 else tensors})
        rows = self._rows(scores, count)
        if layout == "row":
            return _body({"predictions": rows})
        return _body({"outputs": {key: [row[key] for row in rows] for key in rows[0]}})

    def _results(self, verb: str, label: str, scores: dict[str, np.ndarray], *, count: int) -> bytes:
        values = np.asarray(scores[label], dtype=np.float64).reshape(count, -1)
        if verb == "classify":
            kind = self.label_types[label]
            classes = self.served.labels[label].classes or []
            return _body({"results": [[[name, float(value)] for name, value in
                                       zip(classes, kind.class_probabilities(row))] for row in values]})
        if values.shape[1] != 1:
            raise RequestError("", f"regress answers one value per example, and label '{label}' has "
                                   f"{values.shape[1]}; use :predict")
        return _body({"results": [float(row[0]) for row in values]})

    def status(self) -> dict:
        return {"model_version_status": [{"version": str(self.served.version), "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self) -> dict:
        """TensorFlow Serving's metadata answer (each input's and output's dtype and tensor_shape), with the raw
        inputs the model takes and what it answers."""
        served = self.served
        inputs = {name: {"dtype": _dtype(field), "tensor_shape": _tensor_shape([-1, *_dims(field)]),
                         **field.as_dict()}
                  for name, field in self.reader.fields.items()}
        outputs = {name: {"dtype": "DT_FLOAT", "tensor_shape": _tensor_shape([-1, self._width(name)]),
                          "type": label.type, "classes": label.classes,
                          "prediction_keys": self._prediction_keys(name)}
                   for name, label in served.labels.items()}
        metadata = served.predictor.metadata
        return {
            "model_spec": {"name": served.name, "signature_name": SIGNATURE, "version": str(served.version)},
            "metadata": {"signature_def": {"signature_def": {SIGNATURE: {
                "inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}}}},
            "modelctl": {"spec_name": metadata.get("spec_name"), "spec_hash": metadata.get("spec_hash"),
                         "backend": served.backend, "class_names": {name: label.classes
                                                                    for name, label in served.labels.items()
                                                                    if label.classes},
                         "response": self.options.response, "version_labels": dict(self.options.version_labels),
                         "max_batch": self.options.max_batch, "batch_timeout_ms": self.options.batch_timeout_ms,
                         "max_rows": self.reader.max_rows, "max_pixels": self.reader.max_pixels},
        }

    # Helpers --------------------------------------------------------------------------------------------------

    def _check_model(self, name: str, version: str | None, label: str | None) -> None:
        if name != self.served.name:
            raise RequestError("", f"no model '{name}'; this server serves '{self.served.name}'", 404)
        if version is not None and version != str(self.served.version):
            raise RequestError("", f"model '{name}' has no version {version}; it serves version "
                                   f"{self.served.version}", 404)
        if label is not None and label not in self.options.version_labels:
            labels = ", ".join(self.options.version_labels) or "none (--version-labels sets them)"
            raise RequestError("", f"model '{name}' has no version label '{label}'; its labels are {labels}", 404)

    def _one_label(self, verb: str) -> str:
        fits = (lambda kind: kind.classifies) if verb == "classify" else (lambda kind: not kind.classifies)
        found = [name for name, kind in self.label_types.items() if fits(kind)]
        if len(found) != 1 or len(self.label_types) != 1:
            raise RequestError("", f":{verb} answers for a model of one {'class' if verb == 'classify' else 'value'} "
                                   f"label, and this model's labels are "
                                   f"{', '.join(f'{n} ({k.name})' for n, k in self.label_types.items())}; "
                                   "use :predict")
        return found[0]

    def _rows(self, scores: dict[str, np.ndarray], count: int) -> list[dict]:
        """The rows `modelctl predict` writes for the examples, without their `input` names."""
        from modelctl.predict import prediction_rows

        rows = prediction_rows([""] * count, scores, self.served.labels)
        return [{key: value for key, value in row.items() if key != "input"} for row in rows]

    def _width(self, label: str) -> int:
        classes = self.served.labels[label].classes or []
        return self.label_types[label].output_units({"classes": classes}) or 1

    def _prediction_keys(self, label: str) -> list[str]:
        classes = self.served.labels[label].classes or []
        return list(self.label_types[label].predictions(label, np.full(self._width(label), 0.5), classes or ["0", "1"]))

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


class _Hosts:
    """The outermost ASGI layer with `allowed_hosts`: a request whose `Host` header is not among them is answered
    400 before anything else, against DNS rebinding. Starlette's `TrustedHostMiddleware` does the same but answers
    in plain text and reads an IPv6 address (`[::1]:8501`) as `[`; this one answers in the server's JSON error
    shape, which TensorFlow Serving's clients parse, and counts the answer in the metrics."""

    def __init__(self, app, server: _Server):
        self.app = app
        self.server = server
        self.patterns = [pattern.lower() for pattern in server.options.allowed_hosts]

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _host(scope)
        if any(host == pattern or pattern == "*" or (pattern.startswith("*.") and host.endswith(pattern[1:]))
               for pattern in self.patterns):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        shown = repr(host) if host else "(none)"
        await _error(RequestError("", f"the Host header {shown} is not one this server answers to; "
                                      "--allowed-hosts names those it does", 400))(scope, receive, send)
        self.server.metrics.observe(_route_name(scope), 400, time.perf_counter() - start)


def _host(scope) -> str:
    """The host of a request's `Host` header, lowercase and without its port (`[::1]` for `[::1]:8501`)."""
    value = next((value for key, value in scope.get("headers", []) if key == b"host"), b"").decode("latin-1")
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.split(":", 1)[0]


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


async def _by(deadline: float, awaitable):
    """`await awaitable`, cancelled at `deadline` (the event loop's time).

    Raises:
        asyncio.TimeoutError: the deadline passed first.
    """
    if hasattr(asyncio, "timeout_at"):  # Python 3.11: no task per call, unlike wait_for
        async with asyncio.timeout_at(deadline):
            return await awaitable
    return await asyncio.wait_for(awaitable, max(0.0, deadline - asyncio.get_running_loop().time()))


async def _read_body(request: Request, limit: int, deadline: float) -> bytes:
    """The request's body, read up to `limit` bytes by `deadline` (the event loop's time).

    Raises:
        RequestError: a body over `limit` (413), not all there within the timeout (408), a client that left
            before sending it all (499).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError("$", f"the body has {int(declared)} bytes, over the limit of {limit} (the server's "
                                "--max-body-mb)", 413)

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError("$", f"the body is over the limit of {limit} bytes (the server's --max-body-mb)",
                                   413)
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        return await _by(deadline, read())
    except ClientDisconnect:
        raise RequestError("$", "the client closed the connection before sending the whole body", 499) from None
    except asyncio.TimeoutError:
        raise RequestError("$", "the body did not arrive before the request's deadline (the server's "
                                "--timeout-ms)", 408) from None


def _check_options(options: ServeOptions, served: ServedModel) -> None:
    """Refuse options the server cannot run with.

    Raises:
        ServeError: a limit below 1, an unknown response shape, a version label that is not the served version.
    """
    from modelctl.serve.errors import ServeError

    for option, value in (("--max-batch", options.max_batch), ("--max-rows", options.max_rows),
                          ("--max-queue", options.max_queue), ("--max-pixels", options.max_pixels or 1),
                          ("--threads", options.threads)):
        if value < 1:
            raise ServeError(f"invalid value for {option}. Expected an integer of at least 1. Received: {value}")
    for option, value in (("--timeout-ms", options.timeout_ms), ("--max-body-mb", options.max_body_bytes)):
        if value <= 0:
            raise ServeError(f"invalid value for {option}. Expected a number above 0. Received: {value:g}")
    if options.decode_processes < 0:
        raise ServeError(f"invalid value for --decode-processes. Expected an integer of at least 0. Received: "
                         f"{options.decode_processes}")
    if options.response not in RESPONSES:
        raise ServeError(f"invalid value for --response. Expected one of {', '.join(RESPONSES)}. Received: "
                         f"{options.response}")
    for label, version in options.version_labels.items():
        if not _LABEL.fullmatch(str(label)):
            raise ServeError(f"--version-labels: {label!r} is not a version label. Expected letters, digits, '_' "
                             "or '-', starting with a letter")
        if str(version) != str(served.version):
            raise ServeError(f"--version-labels {label}={version}: this server serves version {served.version} "
                             f"only; a label names a version it serves, such as {label}={served.version}")


def _response(request: Request, default: str) -> str:
    """The answer shape a request asks for with `?response=` (the page asks for `modelctl`), else `default`."""
    asked = request.query_params.get("response")
    if asked is None:
        return default
    if asked not in RESPONSES:
        raise RequestError("", f"invalid value for the query parameter 'response'. Expected one of "
                               f"{', '.join(RESPONSES)}. Received: {asked!r}")
    return asked


def _check_finite(scores: dict[str, np.ndarray], path) -> None:
    """Refuse outputs that are not finite numbers (422), naming the first such example by `path(index)`."""
    from modelctl.predict import non_finite

    bad = non_finite(scores)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise RequestError(path(bad[0]), f"the model's output for example {bad[0] + 1}{more} is not a finite number "
                                         "(NaN or infinity), so it predicts nothing: an input far outside the range "
                                         "the model was trained on overflows it", 422)


CHUNK_ITEMS = 500
"""Items of a long list encoded by one call: encoding 10,000 rows in one call holds Python's lock for 90 ms,
in pieces of this size for a few milliseconds each, so the event loop gets it back in between."""


def _body(content) -> bytes:
    """`content` as compact JSON bytes, its long lists encoded a piece at a time; with
    `\\u` escapes when it holds text UTF-8 cannot encode (a lone surrogate a client sent, quoted back in an
    error)."""
    if isinstance(content, list) and len(content) > CHUNK_ITEMS:
        return b"[" + b",".join(_body(content[start:start + CHUNK_ITEMS])[1:-1]
                                for start in range(0, len(content), CHUNK_ITEMS)) + b"]"
    if isinstance(content, dict) and _long(content):
        return b"{" + b",".join(_body(key) + b":" + _body(value) for key, value in content.items()) + b"}"
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _long(content) -> bool:
    """Whether `content` is, or holds, a list longer than `CHUNK_ITEMS`."""
    if isinstance(content, list):
        return len(content) > CHUNK_ITEMS
    return isinstance(content, dict) and any(_long(value) for value in content.values())


def _json(content, status: int = 200) -> Response:
    return Response(_body(content), status, media_type="application/json")


def _error(error: RequestError) -> Response:
    response = _json({"error": without_reprs(str(error)), "field": error.field}, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _dtype(field) -> str:
    return {"numbers": "DT_FLOAT", "files": "DT_STRING", "text": "DT_STRING"}[field.kind]


def _dims(field) -> list[int]:
    return list(field.shape or ((field.width,) if field.kind == "numbers" else ()))


def _tensor_shape(dims: list[int]) -> dict:
    return {"dim": [{"size": str(size), "name": ""} for size in dims], "unknown_rank": False}


__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_QUEUE", "DEFAULT_TIMEOUT_MS", "RESPONSES", "ServeOptions",
           "TOKEN_VARIABLE", "create_app"]
