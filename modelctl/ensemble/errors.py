"""The error of `modelctl ensemble`."""

from modelctl.errors import ModelctlError


class EnsembleError(ModelctlError):
    """Members that cannot be ensembled: different data or splits, different inputs or outputs, or a method that
    does not fit their labels. Exit code 1."""
