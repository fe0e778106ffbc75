"""Modules of the `train` extra, imported when first used rather than when modelctl is imported.

    from modelctl.util.lazy import numpy as np    # instead of `import numpy as np`

`pip install modelctl` alone (the lint install) brings what `validate`, `schema` and `init` need, and no
NumPy, TensorFlow, pandas or pyarrow; `pip install "modelctl[train]"` brings the rest. Modules such as
the feature types hold both the schema of their spec keys (needed to validate) and the code that encodes
data with NumPy (needed to train): through this proxy NumPy is imported on the first attribute looked
up (`np.float32`), which validating never does. Annotations such as `-> np.ndarray` are not evaluated
(every module has `from __future__ import annotations`).

Without the module installed, that first use raises `MissingExtra`, a `ModelctlError` naming the extra
to install, instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import types

from modelctl.errors import ModelctlError

TRAIN_EXTRA = "train"
"""The extra that brings TensorFlow, the exporters and the data libraries."""


class MissingExtra(ModelctlError):
    """A command needs a package of an extra that is not installed. Exit code 1.

    Args:
        package: the missing package (its import name).
        what: what needs it, such as `modelctl train`; default "this command".
        extra: the extra that brings it; default `train`.
    """

    def __init__(self, package: str, what: str = "this command", extra: str = TRAIN_EXTRA):
        self.package = package
        self.extra = extra
        super().__init__(f"{what} needs {package}, which is not installed: modelctl was installed without its "
                         f"`{extra}` extra (the lint install, for validate, schema and init). Install it with: "
                         f"pip install \"modelctl[{extra}]\"")


def installed(package: str) -> bool:
    """Whether `package` (an import name) can be imported, without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require(*packages: str, what: str = "this command") -> None:
    """Raise `MissingExtra` for the first of `packages` that is not installed.

    Args:
        packages: import names, such as "tensorflow".
        what: what needs them, for the message; default "this command".
    """
    for package in packages:
        if not installed(package):
            raise MissingExtra(package, what)


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
