"""The MLflow client: imported on first use, with a clear error when the extra is missing, and a quick check
that a tracking server answers before a run relies on it.

MLflow's HTTP client retries a request that fails for up to about two minutes; a run whose server is down
would stall that long at every write. Unless the environment says otherwise, requests made here are retried
twice and time out after 10 seconds (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`, `MLFLOW_HTTP_REQUEST_TIMEOUT`).
"""

from __future__ import annotations

import logging
import os

from modelctl.errors import ModelctlError

EXTRA = "pip install 'modelctl[mlflow]'"


class TrackingError(ModelctlError):
    """MLflow tracking that cannot work: the extra is not installed, or (with strict tracking) the tracking
    server cannot be reached or refuses a write."""


def mlflow_module():
    """The `mlflow` package.

    Raises:
        TrackingError: it is not installed (naming the extra that installs it).
    """
    try:
        import mlflow
    except ImportError as error:
        raise TrackingError(f"MLflow tracking needs the mlflow-skinny package ({error}); install it with: "
                            f"{EXTRA}") from None
    return mlflow


def client(uri: str):
    """An `mlflow.MlflowClient` of `uri`.

    Raises:
        TrackingError: MLflow is not installed, the URI names a database and SQLAlchemy or Alembic is not, or
            MLflow cannot open the URI (an unknown scheme).
    """
    mlflow = mlflow_module()
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else "file"
    if scheme in ("sqlite", "postgresql", "mysql", "mssql"):
        for package in ("sqlalchemy", "alembic"):
            try:
                __import__(package)
            except ImportError:
                raise TrackingError(f"the tracking URI {uri} is a database, which MLflow reads with {package}; "
                                    f"install it with: {EXTRA}") from None
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    # MLflow's and Alembic's start-up notes (creating the database tables) are noise in a training log.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    except MlflowException as error:
        raise TrackingError(f"{uri}: not a tracking URI MLflow can open ({error.message.strip()}); give a "
                            "server's http(s):// address or a database such as sqlite:///mlflow.db") from None


def write_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a write to a tracking store raises when the store cannot be reached or refuses it."""
    import requests
    from mlflow.exceptions import MlflowException

    return MlflowException, requests.RequestException, OSError


def unreachable(uri: str, timeout: float = 5.0) -> str | None:
    """Why the tracking server of an `http(s)` URI does not answer its health check; None when it does, or when
    the URI is not a server's (a database or a folder is opened by the client itself)."""
    if not uri.lower().startswith(("http://", "https://")):
        return None
    import requests

    try:
        answer = requests.get(uri.rstrip("/") + "/health", timeout=timeout)
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"
    if answer.status_code >= 400:
        return f"its health check answered HTTP {answer.status_code}"
    return None
