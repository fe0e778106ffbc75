"""`modelctl serve`: a prediction server that speaks TensorFlow Serving's REST API, with a page to try the model.

    from modelctl.serve import ServeOptions, create_app, open_model, serve

    serve("runs/iris", options=ServeOptions(max_batch=64, batch_timeout_ms=2))   # blocks until SIGTERM
    app = create_app(open_model("runs/iris"))                                      # the ASGI app alone

The model takes raw feature values and carries its class names, so requests
give raw rows and answers name classes and probabilities, the same answers as
`modelctl predict` on the same rows. `modelctl.serve.model` loads the target in
its backend, `instances` reads requests, `batching` gathers concurrent requests
into one model call, `app` is the Starlette application (routes, token, errors),
`metrics` the Prometheus metrics, `page` the page at `/`, and `server` runs it
under uvicorn. The ONNX backend never imports TensorFlow.
"""

from modelctl.serve.app import DEFAULT_MAX_BODY_BYTES, TOKEN_VARIABLE, ServeOptions, create_app
from modelctl.serve.errors import RequestError, ServeError
from modelctl.serve.model import BACKENDS, ServedModel, open_model
from modelctl.serve.server import DEFAULT_HOST, DEFAULT_PORT, serve

__all__ = ["BACKENDS", "DEFAULT_HOST", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_PORT", "RequestError", "ServeError",
           "ServeOptions", "ServedModel", "TOKEN_VARIABLE", "create_app", "open_model", "serve"]
