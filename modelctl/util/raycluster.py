"""Connecting to a Ray cluster, or starting a local one for the duration of a command.

    with connect(address=None, console=console) as cluster:     # a local Ray, stopped at the end
        cluster.started_seconds                                  # how long starting or connecting took

`address` is what Ray itself takes: `auto` (the cluster `ray start` made on this machine), `HOST:PORT` of
the head node's GCS, or `ray://HOST:10001` (Ray Client). None uses `$RAY_ADDRESS` when set, else starts a
local Ray on this machine with its node address 127.0.0.1 (nothing of it listens beyond this machine),
without its dashboard (which needs `ray[default]`), and stops it when the command ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import importlib.util
import logging
import os
import sys
import time

from modelctl.errors import ModelctlError
from modelctl.util.lazy import MissingExtra, installed

RAY_EXTRA = "ray"
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
"""Object store of a local Ray: modelctl passes only settings through it, never data."""


class RayError(ModelctlError):
    """Ray cannot be reached or started, or a Ray job failed. Exit code 1, or the failed job's."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclasses.dataclass
class Cluster:
    """The Ray cluster a command runs on.

    Args:
        address: the address connected to; `local` for a Ray started by the command.
        started_seconds: seconds starting or connecting took.
        cpus: CPUs the cluster offers.
        gpus: GPUs the cluster offers.
    """

    address: str
    started_seconds: float
    cpus: float
    gpus: float


def require_ray(what: str) -> None:
    """Raise `MissingExtra` naming the `ray` extra when Ray (with Ray Train) is not installed."""
    if not installed("ray"):
        raise MissingExtra("ray", what, extra=RAY_EXTRA)


QUIETED_LOGGERS = ("ray.train.v2._internal.execution.controller.placement_group_cleaner",)
"""Ray loggers whose warnings are noise here: without Ray's dashboard (and its state API) Ray Train's placement
group cleaner warns every few seconds that it cannot query the controller's state."""


def setup_worker_process() -> None:
    """Run by Ray in every worker process of a modelctl command as it starts (`worker_process_setup_hook`):
    quiets Ray's noisy loggers, and makes the process's first import of TensorFlow the quiet one of
    `modelctl.util.tf` (Ray Train's TensorFlow module imports it before any modelctl code runs)."""
    for name in QUIETED_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _QuietTensorflow())


class _QuietTensorflow(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports TensorFlow through `modelctl.util.tf.tensorflow()` the first time anything imports it, and hands the
    module it made to that import. Only processes that import TensorFlow pay for it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        from modelctl.util.tf import tensorflow

        self.module = tensorflow()
        self.spec = self.module.__spec__
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import machinery set it to this loader's


@contextlib.contextmanager
def connect(address: str | None, *, console, cpus: float | None = None, gpus: float | None = None):
    """Connect to the Ray cluster at `address` (see the module docstring), yield a `Cluster`, and disconnect.

    Args:
        address: the cluster's address; None: `$RAY_ADDRESS`, else a local Ray for the command.
        console: a rich Console for the one line that says where the command runs.
        cpus: CPUs a local Ray offers; default None: this machine's cores.
        gpus: GPUs a local Ray offers; default None: those Ray finds.

    Raises:
        RayError: the cluster cannot be reached, or a local Ray cannot start.
    """
    require_ray("--ray")
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    started = time.perf_counter()
    options: dict = {"log_to_driver": True, "logging_level": logging.WARNING, "configure_logging": True,
                     "runtime_env": {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3"},
                                     "worker_process_setup_hook": f"{__name__}.setup_worker_process"}}
    if address is None:
        options.update(num_cpus=cpus if cpus is not None else os.cpu_count() or 1, include_dashboard=False,
                       object_store_memory=LOCAL_OBJECT_STORE_BYTES, _node_ip_address="127.0.0.1")
        if gpus is not None:
            options["num_gpus"] = gpus
    try:
        ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise RayError(f"cannot connect to {where}: {str(error).splitlines()[0] if str(error) else error!r}. "
                       "Start one with `ray start --head`, and give its address (HOST:6379, or auto on its head "
                       "node) to --ray-address or RAY_ADDRESS") from None
    try:
        resources = ray.cluster_resources()
        cluster = Cluster(address=address or "local", started_seconds=time.perf_counter() - started,
                          cpus=float(resources.get("CPU", 0)), gpus=float(resources.get("GPU", 0)))
        where = "a local Ray" if address is None else f"the Ray cluster at {address}"
        console.print(f"ray: {where}, {cluster.cpus:g} CPUs and {cluster.gpus:g} GPUs, ready in "
                      f"{cluster.started_seconds:.1f} s", markup=False)
        yield cluster
    finally:
        ray.shutdown()
