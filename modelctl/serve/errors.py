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
        status: the HTTP status (default 400).
    """

    def __init__(self, field: str, message: str, status: int = 400):
        self.field = field
        self.message = message
        self.status = status
        super().__init__(f"{field}: {message}" if field else message)

    def as_dict(self) -> dict:
        """The JSON body of the answer."""
        return {"error": str(self), "field": self.field}


class ServeError(UsageError):
    """A model that cannot be served as asked (no artifact of the backend, an unknown backend). Exit code 2."""


__all__ = ["RequestError", "ServeError"]
