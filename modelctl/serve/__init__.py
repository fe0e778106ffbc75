"""`modelctl serve`: a prediction server that speaks TensorFlow Serving's REST API, with a page to try the model.

    from modelctl.serve import ServeOptions, create_app, open_model, serve

    serve("runs/iris", options=ServeOptions(max_batch=64, batch_timeout_ms=2))   # blocks until SIGTERM
    app = create_app(open_model("runs/iris"))                                      # the ASGI app alone

The model takes raw feature values and carries its class names, so requests
give raw rows and answers name classes and probabilities, the same answers as
`modelctl predict` on the same rows (the same `modelctl.predict.Predictor`), or
TensorFlow Serving's output tensors with `response="tf-serving"`.
`modelctl.serve.model` loads the target (a run, an artifact, or the newest
version of a model in a TensorFlow Serving or Triton model repository) in its
backend, `instances` reads requests, `work` keeps their CPU work off the event
loop (worker processes and threads), `batching` gathers concurrent requests
into model calls of at most `max_batch` examples, `app` is the Starlette
application (routes, token, hosts, limits, load shedding, errors), `metrics` the
Prometheus metrics (shared by `--workers`), `page` the page at `/`, and `server`
runs it under uvicorn with bounded connections. The ONNX and TFLite backends
never import TensorFlow: `pip install "modelctl[serve]"` serves them.
"""

from modelctl.serve.app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUEUE, DEFAULT_TIMEOUT_MS, RESPONSES, \
    TOKEN_VARIABLE, ServeOptions, create_app
from modelctl.serve.errors import RequestError, ServeError
from modelctl.serve.model import BACKENDS, ServedModel, open_model
from modelctl.serve.server import DEFAULT_HOST, DEFAULT_PORT, Connections, serve

__all__ = ["BACKENDS", "Connections", "DEFAULT_HOST", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_QUEUE", "DEFAULT_PORT",
           "DEFAULT_TIMEOUT_MS", "RESPONSES", "RequestError", "ServeError", "ServeOptions", "ServedModel",
           "TOKEN_VARIABLE", "create_app", "open_model", "serve"]
