"""Modules of the `train` extra, imported when first used rather than when modelctl is imported.

    from modelctl.util.lazy import numpy as np    # instead of `import numpy as np`

`pip install modelctl` alone (the lint install) brings what `validate`, `schema` and `init` need, and no
NumPy, TensorFlow, pandas or pyarrow; `pip install "modelctl[train]"` brings the rest. Modules such as
the feature types hold both the schema of their spec keys (needed to validate) and the code that encodes
data with NumPy (needed to train): through this proxy NumPy is imported on the first attribute looked
up (`np.float32`), which validating never does. Annotations such as `-> np.ndarray` are not evaluated
(every module has `from __future__ import annotations`).

Without the module installed, that first use raises `MissingExtra`, a `ModelctlError` naming the extra
to install, instead of an ImportError traceback. Its message says which install this is: the lint install
(the core alone), or the serving install (`pip install "modelctl[serve]"`: `serve` and `predict` on ONNX and
TFLite artifacts, without TensorFlow), so that a user of either knows why the package is absent.
"""

from __future__ import annotations

import importlib
import importlib.util
import types

from modelctl.errors import ModelctlError

TRAIN_EXTRA = "train"
"""The extra that brings TensorFlow, the exporters and the data libraries."""

SERVE_EXTRA = "serve"
"""The extra that serves and predicts with ONNX and TFLite artifacts, without TensorFlow."""

SERVE_PACKAGES = ("numpy", "starlette", "uvicorn", "httptools", "prometheus_client", "PIL")
"""What the `serve` extra brings that every backend needs (ONNX Runtime and LiteRT are checked by their backend)."""


class MissingExtra(ModelctlError):
    """A command needs a package of an extra that is not installed. Exit code 1.

    Args:
        package: the missing package (its import name).
        what: what needs it, such as `modelctl train`; default "this command".
        extra: the extra that brings it; default `train`.
        instead: what would do without the extra, added to the message, such as "or serve an ONNX export";
            default None.
    """

    def __init__(self, package: str, what: str = "this command", extra: str = TRAIN_EXTRA, *,
                 instead: str | None = None):
        self.package = package
        self.extra = extra
        install = this_install()
        super().__init__(f"{what} needs {package}, which is not installed: modelctl was installed without its "
                         f"`{extra}` extra{f' ({install})' if install else ''}. Install it with: "
                         f"pip install \"modelctl[{extra}]\"{f'; {instead}' if instead else ''}")


def this_install() -> str | None:
    """Which install of modelctl this is, for messages: the serving install (the `serve` extra without
    TensorFlow), the lint install (neither NumPy nor TensorFlow), or None (TensorFlow is here: the `train` extra,
    whose commands need no more)."""
    if installed("tensorflow"):
        return None
    if all(installed(package) for package in SERVE_PACKAGES):
        return (f"the serving install, `modelctl[{SERVE_EXTRA}]`, whose serve and predict run ONNX and TFLite "
                "artifacts only")
    return "the lint install, for validate, schema and init"


def installed(package: str) -> bool:
    """Whether `package` (an import name) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require(*packages: str, what: str = "this command", instead: str | None = None) -> None:
    """Raise `MissingExtra` (naming the `train` extra) for the first of `packages` that is not installed.

    Args:
        packages: import names, such as "tensorflow".
        what: what needs them, for the message; default "this command".
        instead: what would do without the `train` extra, for the message; default None.
    """
    for package in packages:
        if not installed(package):
            raise MissingExtra(package, what, instead=instead)


class LazyModule(types.ModuleType):
    """A stand-in for module `name` that imports it on the first attribute looked up (see the module
    docstring)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_module"] = None

    def __getattr__(self, attribute: str):
        module = self.__dict__["_module"]
        if module is None:
            try:
                module = importlib.import_module(self.__name__)
            except ModuleNotFoundError as error:
                if error.name != self.__name__:
                    raise
                raise MissingExtra(self.__name__) from None
            self.__dict__["_module"] = module
            # Later look-ups find the module's names here directly, without coming back to __getattr__.
            self.__dict__.update({name: value for name, value in vars(module).items() if not name.startswith("__")})
        return getattr(module, attribute)


numpy = LazyModule("numpy")
