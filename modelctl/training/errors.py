"""The errors of training: the family base class and the hardware one.

    HardwareError: distribution 'tpu' needs a TPU, and none was found (...)

Each derives from `modelctl.errors.ModelctlError`, so the CLI prints its message and exits with code 1.
"""

from modelctl.errors import ModelctlError


class TrainingError(ModelctlError):
    """A run that cannot train as the spec says (an output without a loss, for instance). Exit code 1."""


class HardwareError(TrainingError):
    """A training setting the hardware cannot honour, or a TF_CONFIG that does not describe a cluster. Exit
    code 1."""


__all__ = ["HardwareError", "TrainingError"]
