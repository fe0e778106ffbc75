"""What a client of `modelctl serve` can get wrong: a request the model cannot answer, and a model that cannot be
served."""

from __future__ import annotations

from modelctl.errors import ModelctlError, UsageError


class RequestError(ModelctlError):
    """A request the server refuses: answered with `status` and `{"error": message, "field": field}`.

    Args:
        field: JSON path of the offending part of the body, such as `$.instances[2].sepal_length`; `$` for the
            whole body, "" for what is not in the body (the URL, a header).
        message: what is wrong, what was expected and what was received.
        status: the HTTP status (default 400): 413 for a request over a limit, 503 when the server sheds load,
            499 (as nginx counts it) when the client left before the request was read.
        retry_after: seconds a client should wait before trying again, sent as `Retry-After` (with 503); default
            None: no such header.
    """

    def __init__(self, field: str, message: str, status: int = 400, *, retry_after: int | None = None):
        self.field = field
        self.message = message
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{field}: {message}" if field else message)

    def __reduce__(self):
        # Requests are read in other processes (`modelctl.serve.work`); the error comes back pickled.
        return _request_error, (self.field, self.message, self.status, self.retry_after)

    def as_dict(self) -> dict:
        """The JSON body of the answer."""
        return {"error": str(self), "field": self.field}


def _request_error(field: str, message: str, status: int, retry_after: int | None) -> RequestError:
    return RequestError(field, message, status, retry_after=retry_after)


class ServeError(UsageError):
    """A model that cannot be served as asked (no artifact of the backend, an unknown backend). Exit code 2."""


__all__ = ["RequestError", "ServeError"]
