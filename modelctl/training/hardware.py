"""What the machine offers, and how a run uses it: distribution strategy, precision and XLA.

`detect()` describes the hardware (CPU, GPUs, TPUs, a multi-worker cluster from
`TF_CONFIG`); `plan()` turns the spec's `training` section and that description
into a `Plan`, each choice with a sentence saying why; `make_strategy()` and
`apply_precision()` carry the plan out. `detect_for()` is `detect()` for one run:
it also connects the TPU where the run would train on it.

Detection never initializes TensorFlow's runtime (it reads physical devices and
their details only), so logical devices and GPU memory growth can still be
configured after it. Connecting a TPU (`connect_tpu()`) does initialize it, and
gives up within seconds where the TPU cannot be reached: a `grpc://` address is
tried with a plain TCP connection first, because TensorFlow itself would wait for
it forever.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import urllib.parse
from typing import Any, Mapping

from modelctl.errors import SpecError, did_you_mean, one_of
from modelctl.training.errors import HardwareError

CLUSTER_ROLES = ("chief", "worker", "ps", "evaluator")
ROLE_ALIASES = {"master": "chief"}
"""Roles other launchers write for TensorFlow's: Kubeflow's TFJob and AI Platform name the chief `master`."""
TPU_ENVIRONMENT = ("TPU_NAME", "COLAB_TPU_ADDR")
TENSOR_CORES = (7, 0)
SETTINGS = ("distribution", "mixed_precision", "jit_compile", "scale_learning_rate")
TPU_TIMEOUT_S = 10
_CONNECTED_TPUS: dict[str, Any] = {}


class TpuUnreachable(HardwareError):
    """The TPU named by TPU_NAME or COLAB_TPU_ADDR, or this TPU VM's own, cannot be connected to. Exit code 1.

    Args:
        address: the TPU's name, `grpc://host:port` address, or `local`.
        source: the environment variable `address` came from; None for this machine's own TPU.
        tried: what was tried, such as `a TCP connection to 10.0.0.2:8470`.
        reason: why that failed, in one line.
    """

    def __init__(self, address: str, source: str | None, tried: str, *, reason: str):
        self.address, self.source, self.tried, self.reason = address, source, tried, reason
        named = f"{source}={address!r}" if source else f"this machine ({address!r})"
        unset = f"unset {source}, or " if source else ""
        super().__init__(f"cannot reach the TPU named by {named}: tried {tried}: {reason}. To train without it, "
                         f"{unset}set training.distribution to 'one_device' or 'mirrored' (such as --set "
                         "training.distribution=one_device).")


@dataclasses.dataclass(frozen=True)
class Cpu:
    """The host CPU.

    Args:
        cores: logical cores (`os.cpu_count()`).
        model: model name from /proc/cpuinfo; None when it cannot be read.
        platform: operating system and architecture, as `platform.platform()` gives them.
    """

    cores: int
    model: str | None = None
    platform: str = ""


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One GPU TensorFlow can see.

    Args:
        index: position among TensorFlow's GPUs; the device is `/gpu:INDEX`.
        model: product name, such as `NVIDIA A100-SXM4-40GB`; None when unknown.
        memory_bytes: total memory; None when unknown.
        compute_capability: `(major, minor)`, such as `(8, 0)`; None when unknown.
    """

    index: int
    model: str | None = None
    memory_bytes: int | None = None
    compute_capability: tuple[int, int] | None = None

    @property
    def device(self) -> str:
        return f"/gpu:{self.index}"

    @property
    def has_tensor_cores(self) -> bool:
        return self.compute_capability is not None and tuple(self.compute_capability) >= TENSOR_CORES

    def describe(self) -> str:
        capability = ("compute capability unknown" if self.compute_capability is None
                      else f"compute capability {_capability(self.compute_capability)}")
        return f"{self.device} ({self.model or 'unknown model'}, {capability})"


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The multi-worker cluster `TF_CONFIG` describes.

    Args:
        roles: `(role, number of tasks)` pairs, roles among chief, worker, ps and evaluator.
        task_type: this process's role; None when TF_CONFIG gives no `task`.
        task_index: this process's index within its role; None when TF_CONFIG gives no `task`.
    """

    roles: tuple[tuple[str, int], ...]
    task_type: str | None = None
    task_index: int | None = None

    def count(self, role: str) -> int:
        return dict(self.roles).get(role, 0)

    @property
    def workers(self) -> int:
        """Processes that train: the chief and the workers."""
        return self.count("chief") + self.count("worker")

    @property
    def size(self) -> int:
        return sum(count for _, count in self.roles)


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What `detect()` found.

    Args:
        cpu: the host CPU.
        gpus: the GPUs TensorFlow can see, in device order; empty on CPU-only machines.
        tpus: names of the TPU cores TensorFlow can use (logical devices); empty when none are connected.
        tpu_address: the TPU a cluster resolver would connect to (`TPU_NAME`, `grpc://` + `COLAB_TPU_ADDR`,
            or `local` on a TPU VM); None when no TPU is configured.
        tpu_address_from: the environment variable `tpu_address` came from; None for `local` or no TPU.
        tpu_unreachable: why the TPU at `tpu_address` could not be connected to (what was tried and what
            failed); None when it was connected or not tried.
        cluster: the cluster of `TF_CONFIG`; None when TF_CONFIG is not set.
        tensorflow_version: `tf.__version__`.
        keras_version: `keras.__version__`.
    """

    cpu: Cpu
    gpus: tuple[Gpu, ...] = ()
    tpus: tuple[str, ...] = ()
    tpu_address: str | None = None
    tpu_address_from: str | None = None
    tpu_unreachable: str | None = None
    cluster: Cluster | None = None
    tensorflow_version: str = ""
    keras_version: str = ""

    def as_dict(self) -> dict:
        return {
            "cpu": dataclasses.asdict(self.cpu),
            "gpus": [{"device": gpu.device, "model": gpu.model, "memory_bytes": gpu.memory_bytes,
                      "compute_capability": _capability(gpu.compute_capability)} for gpu in self.gpus],
            "tpu": {"cores": len(self.tpus), "devices": list(self.tpus), "address": self.tpu_address,
                    "address_from": self.tpu_address_from, "unreachable": self.tpu_unreachable},
            "cluster": None if self.cluster is None else {
                "roles": dict(self.cluster.roles), "workers": self.cluster.workers, "size": self.cluster.size,
                "task_type": self.cluster.task_type, "task_index": self.cluster.task_index},
            "tensorflow": self.tensorflow_version,
            "keras": self.keras_version,
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a run uses the hardware.

    Args:
        distribution: `one_device`, `mirrored`, `multi_worker` or `tpu` (never `auto`).
        devices: the devices of this process that hold a replica, such as `("/gpu:0", "/gpu:1")`;
            default `("/cpu:0",)`.
        replicas: devices training in sync across every worker; default 1.
        mixed_precision: Keras dtype policy, `float32` (default), `mixed_float16` or `mixed_bfloat16`.
        jit_compile: whether `model.compile` gets `jit_compile=True`; default False.
        learning_rate_scale: factor for the optimizer's learning rate (`replicas` under linear scaling); default 1.
        batch_size: the global batch (`data.batch_size`); None when not checked.
        per_replica_batch_size: `batch_size / replicas`; None when `batch_size` is None.
        workers: processes training together (multi_worker); default 1.
        tpu_address: the TPU the `tpu` strategy connects to; None otherwise.
        reasons: one sentence per choice saying why it was made.
    """

    distribution: str
    devices: tuple[str, ...] = ("/cpu:0",)
    replicas: int = 1
    mixed_precision: str = "float32"
    jit_compile: bool = False
    learning_rate_scale: int = 1
    batch_size: int | None = None
    per_replica_batch_size: int | None = None
    workers: int = 1
    tpu_address: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def device(self) -> str:
        """The device of `one_device` (the first device otherwise)."""
        return self.devices[0]

    def as_dict(self) -> dict:
        result = dataclasses.asdict(self)
        result["devices"] = list(self.devices)
        result["reasons"] = list(self.reasons)
        return result


def detect(connect_tpu: bool = False) -> Hardware:
    """Describe the CPU, GPUs, TPUs and multi-worker cluster of this process.

    Args:
        connect_tpu: when True and a TPU is configured (`TPU_NAME`, `COLAB_TPU_ADDR`, or a TPU VM) but not yet
            connected, connect to it and initialize it so its cores can be counted. Default False.

    Raises:
        ModelctlError: TF_CONFIG is set but malformed.
        TpuUnreachable: `connect_tpu` is True and the TPU cannot be reached.
    """
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    import keras

    cpu = Cpu(cores=os.cpu_count() or 1, model=_cpu_model(), platform=platform.platform())
    physical_tpus = tf.config.list_physical_devices("TPU")
    address, source = _tpu_address(os.environ, bool(physical_tpus))
    # Listing logical devices initializes the runtime, so it is done only where a TPU may answer.
    tpus = _tpu_names(tf) if physical_tpus or address in _CONNECTED_TPUS else ()
    hardware = Hardware(cpu=cpu, gpus=_gpus(tf), tpus=tpus, tpu_address=address, tpu_address_from=source,
                        cluster=parse_tf_config(os.environ.get("TF_CONFIG")),
                        tensorflow_version=tf.__version__, keras_version=keras.__version__)
    return connect_tpu(hardware) if connect_tpu else hardware


def detect_for(training: Mapping[str, Any]) -> Hardware:
    """`detect()` for a run with the spec's `training` section, connecting the TPU only where the run would use it.

    The run uses a configured TPU under `distribution: tpu`, and under `auto` unless TF_CONFIG names several
    workers; under `one_device`, `mirrored` or `multi_worker` it trains on this host's devices whatever TPU_NAME
    says, so the TPU is not contacted.

    Args:
        training: the spec's `training` section; only `distribution` is read (default `auto`, as the schema says).

    Raises:
        ModelctlError: a training setting outside the schema's values, or TF_CONFIG malformed.
        TpuUnreachable: the run would use a TPU that cannot be reached.
    """
    hardware = detect()
    requested = _settings(training)["distribution"]
    several_workers = hardware.cluster is not None and hardware.cluster.workers > 1
    if requested == "tpu" or (requested == "auto" and not several_workers):
        return connect_tpu(hardware)
    return hardware


def connect_tpu(hardware: Hardware) -> Hardware:
    """`hardware` with the cores of its TPU counted, connecting to the TPU and initializing it first.

    A TPU is connected once per process; `hardware` comes back unchanged where no TPU is configured or its
    cores are already known. Each step gives up within `TPU_TIMEOUT_S` (10) seconds where the TPU does not
    answer: the Cloud TPU API lookup of a TPU name, the TCP connection to a `grpc://host:port` address, and
    TensorFlow's own connection, which fails at once once the address is known to refuse.

    Raises:
        TpuUnreachable: saying what was tried and why it failed.
    """
    if hardware.tpu_address is None or hardware.tpus:
        return hardware
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    address, source = hardware.tpu_address, hardware.tpu_address_from
    _connect_tpu(address, source)
    cores = _tpu_names(tf)
    if not cores:
        raise TpuUnreachable(address, source, "connecting TensorFlow to it",
                             reason="it answered, but TensorFlow lists no TPU cores on it")
    return dataclasses.replace(hardware, tpus=cores)


def _cpu_model(path: str = "/proc/cpuinfo") -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip().lower() in ("model name", "hardware", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _gpus(tf) -> tuple[Gpu, ...]:
    devices = tf.config.list_physical_devices("GPU")
    memory = _gpu_memory_by_model() if devices else {}
    gpus = []
    for index, device in enumerate(devices):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (ValueError, RuntimeError):
            details = {}
        capability = details.get("compute_capability")
        model = details.get("device_name")
        gpus.append(Gpu(index=index, model=model, memory_bytes=memory.get(model),
                        compute_capability=tuple(capability) if capability else None))
    return tuple(gpus)


def _gpu_memory_by_model() -> dict[str, int]:
    """Total memory of each GPU model, from nvidia-smi.

    TensorFlow reports a GPU's memory only once its runtime has claimed the GPU, and nvidia-smi numbers GPUs
    in its own order, so memory is matched by model name, and only where every GPU of that model agrees.
    """
    if shutil.which("nvidia-smi") is None:
        return {}
    try:
        result = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return {}
    sizes: dict[str, set[int]] = {}
    for line in result.stdout.splitlines():
        name, _, mebibytes = line.rpartition(",")
        if name.strip() and mebibytes.strip().isdigit():
            sizes.setdefault(name.strip(), set()).add(int(mebibytes) * 1024 * 1024)
    return {name: next(iter(found)) for name, found in sizes.items() if len(found) == 1}


def _tpu_address(environ: Mapping[str, str], physical_tpus: bool) -> tuple[str | None, str | None]:
    if environ.get("TPU_NAME"):
        return environ["TPU_NAME"], "TPU_NAME"
    if environ.get("COLAB_TPU_ADDR"):
        return "grpc://" + environ["COLAB_TPU_ADDR"], "COLAB_TPU_ADDR"
    return ("local", None) if physical_tpus else (None, None)


def _tpu_names(tf) -> tuple[str, ...]:
    return tuple(device.name for device in tf.config.list_logical_devices("TPU"))


def _connect_tpu(address: str, source: str | None):
    """Connect to and initialize the TPU at `address` once per process; returns its cluster resolver."""
    if address in _CONNECTED_TPUS:
        return _CONNECTED_TPUS[address]
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    resolvers = tf.distribute.cluster_resolver
    if address == "local":
        if not tf.config.list_physical_devices("TPU"):
            raise TpuUnreachable(address, source, "listing this machine's TPU devices",
                                 reason="TensorFlow lists none (a Cloud TPU VM with TensorFlow's TPU support has them)")
        resolver, master = resolvers.TPUClusterResolver(tpu="local"), "this machine's TPU"
    else:
        tried = (f"a TCP connection to {address}" if address.startswith("grpc://") else
                 f"looking up the Cloud TPU {address!r} through the Google Cloud metadata server and TPU API")
        # The Cloud TPU client opens its HTTP connections without a timeout of its own, so the process default
        # bounds them. Its failures come from several libraries (urllib, googleapiclient, google.auth), all of
        # them a TPU that cannot be reached from here.
        try:
            with _socket_timeout(TPU_TIMEOUT_S):
                resolver = resolvers.TPUClusterResolver(tpu=address)
                master = resolver.master()
        except Exception as error:
            raise TpuUnreachable(address, source, tried, reason=_why(error)) from None
        _check_reachable(master, address, source)
    # Without fail-fast, TensorFlow's first call to a TPU worker waits until the worker answers, forever.
    try:
        with _environment_default("GRPC_FAIL_FAST", "true"):
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise TpuUnreachable(address, source, f"connecting TensorFlow to {master} and initializing its TPU system",
                             reason=_one_line(error)) from None
    _CONNECTED_TPUS[address] = resolver
    return resolver


def _check_reachable(master: str, address: str, source: str | None) -> None:
    """Raise TpuUnreachable unless `master` (`grpc://host:port`) accepts a TCP connection within TPU_TIMEOUT_S."""
    parts = urllib.parse.urlsplit(master)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise TpuUnreachable(address, source, f"reading the address {master!r}",
                             reason="it is not grpc://HOST:PORT, such as grpc://10.0.0.2:8470")
    tried = f"a TCP connection to {parts.hostname}:{port}"
    try:
        with socket.create_connection((parts.hostname, port), timeout=TPU_TIMEOUT_S):
            pass
    except TimeoutError:
        raise TpuUnreachable(address, source, tried, reason=f"no answer within {TPU_TIMEOUT_S} s") from None
    except OSError as error:
        raise TpuUnreachable(address, source, tried, reason=_why(error)) from None


def _why(error: BaseException) -> str:
    """Why a connection failed, in one line: the operating system's words where it gave them."""
    cause = getattr(error, "reason", None)  # urllib's URLError wraps the socket's error
    if isinstance(cause, OSError):
        error = cause
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return _one_line(error)


def _one_line(error: BaseException) -> str:
    """The first line of an error's message, without TensorFlow's `[Op:...]` suffix or a final full stop."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = re.sub(r"\s*\[Op:[^\]]*\]$", "", lines[0]) if lines else type(error).__name__
    return text.rstrip(".")


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextlib.contextmanager
def _environment_default(name: str, value: str):
    """Set environment variable `name` to `value` inside the block, unless the user has set it."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def parse_tf_config(text: str | None) -> Cluster | None:
    """Parse the `TF_CONFIG` environment variable; None when it is unset or blank.

    TF_CONFIG is a JSON object: `{"cluster": {ROLE: ["host:port", ...]}, "task": {"type": ROLE, "index": N}}`,
    roles among chief, worker, ps and evaluator. `master` (as Kubeflow's TFJob and AI Platform write it) is the
    chief; other keys (Vertex AI's `environment`, `job`, `task.trial`) are ignored.

    Raises:
        ModelctlError: listing every problem found, each with what was received.
    """
    if text is None or not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        shown = text if len(text) <= 200 else text[:200] + "..."
        raise HardwareError(f"TF_CONFIG is not valid JSON: {error.msg} at line {error.lineno} column "
                            f"{error.colno}. Received: TF_CONFIG={shown!r}") from None
    if not isinstance(config, dict):
        raise HardwareError(f"TF_CONFIG must be a JSON object with `cluster` and `task`. Received: a JSON "
                            f"{_json_kind(config)}")
    problems: list[str] = []
    roles = _cluster_roles(config.get("cluster"), problems)
    task = config.get("task")
    if isinstance(task, dict) and task.get("type") in ROLE_ALIASES:
        task = {**task, "type": ROLE_ALIASES[task["type"]]}
    task_type, task_index = _task(task, dict(roles), problems)
    if problems:
        raise HardwareError("\n".join(problems))
    return Cluster(roles=roles, task_type=task_type, task_index=task_index)


def tf_config_for_tensorflow(text: str | None) -> str | None:
    """TF_CONFIG as TensorFlow's multi-worker strategy reads it, or None when `text` needs no change.

    TensorFlow knows the roles chief, worker, ps and evaluator only: a `master` (Kubeflow's TFJob, AI Platform)
    becomes the chief, and only `cluster` and `task` are kept. Call it after `parse_tf_config` has accepted
    `text`.
    """
    if text is None or not text.strip():
        return None
    config = json.loads(text)
    cluster = {ROLE_ALIASES.get(role, role): addresses for role, addresses in config["cluster"].items()}
    task = dict(config.get("task") or {})
    if task:
        task = {"type": ROLE_ALIASES.get(task.get("type"), task.get("type")), "index": task.get("index", 0)}
    normalized = {"cluster": cluster, **({"task": task} if task else {})}
    return None if normalized == config else json.dumps(normalized)


def _cluster_roles(cluster: object, problems: list[str]) -> tuple[tuple[str, int], ...]:
    expected = "it must map roles (chief, worker, ps, evaluator) to lists of 'host:port' addresses"
    if cluster is None:
        problems.append(f"TF_CONFIG has no `cluster`: {expected}.")
        return ()
    if not isinstance(cluster, dict) or not cluster:
        problems.append(f"TF_CONFIG `cluster` is not valid: {expected}. Received: cluster={json.dumps(cluster)}")
        return ()
    roles = []
    if "chief" in cluster and any(alias in cluster for alias in ROLE_ALIASES):
        problems.append("TF_CONFIG `cluster` names both `chief` and `master`, two names of the one chief: keep one.")
        return ()
    for written, addresses in cluster.items():
        role = ROLE_ALIASES.get(written, written)
        if role not in CLUSTER_ROLES:
            known = (*CLUSTER_ROLES, *ROLE_ALIASES)
            problems.append(f"TF_CONFIG `cluster` has an unknown role '{written}'. Expected one of "
                            f"{one_of(known)}.{did_you_mean(written, known)}")
            continue
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(address, str) and address for address in addresses)):
            problems.append(f"TF_CONFIG `cluster.{role}` must be a non-empty list of 'host:port' strings. "
                            f"Received: {json.dumps(addresses)}")
            continue
        if role in ("chief", "evaluator") and len(addresses) > 1:
            problems.append(f"TF_CONFIG `cluster.{role}` may hold one address. Received: {len(addresses)} "
                            f"addresses")
        roles.append((role, len(addresses)))
    return tuple(roles)


def _task(task: object, roles: dict[str, int], problems: list[str]) -> tuple[str | None, int | None]:
    if task is None:
        if sum(roles.values()) > 1:
            problems.append('TF_CONFIG has no `task`: every process of a cluster needs {"type": ROLE, '
                            '"index": N} saying which of the cluster\'s addresses it is.')
        return None, None
    if not isinstance(task, dict):
        problems.append(f'TF_CONFIG `task` must be an object {{"type": ROLE, "index": N}}. Received: '
                        f"task={json.dumps(task)}")
        return None, None
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in roles:
        listed = one_of(roles) if roles else "no role"
        problems.append(f"TF_CONFIG `task.type` must be a role of the cluster: {listed}. Received: "
                        f"type={json.dumps(task_type)}")
        return None, None
    if not isinstance(index, int) or isinstance(index, bool):
        problems.append(f"TF_CONFIG `task.index` must be an integer. Received: index={json.dumps(index)}")
        return task_type, None
    if not 0 <= index < roles[task_type]:
        problems.append(f"TF_CONFIG `task.index` is {index}, but `cluster.{task_type}` lists {roles[task_type]} "
                        f"address{'es' if roles[task_type] != 1 else ''} (indices 0 to {roles[task_type] - 1}).")
    return task_type, index


def plan(training: Mapping[str, Any], hardware: Hardware, batch_size: int | None = None) -> Plan:
    """Choose distribution, precision, XLA and learning-rate scale for `training` on `hardware`.

    Args:
        training: the spec's `training` section; `distribution`, `mixed_precision`, `jit_compile` and
            `scale_learning_rate` are read, each defaulting as the schema says (`auto`, `auto`, `auto`, `linear`).
            `distribution`: `auto` (multi_worker when TF_CONFIG names more than one worker, else tpu when a TPU
            is present, else mirrored over more than one GPU, else one_device on `/gpu:0` or `/cpu:0`),
            `one_device`, `mirrored` (one device gives one replica), `multi_worker` or `tpu`.
            `mixed_precision`: `auto` (mixed_float16 when every GPU used has compute capability 7.0+,
            mixed_bfloat16 on TPUs, float32 otherwise), `float32`, `mixed_float16` or `mixed_bfloat16`.
            `jit_compile`: `auto` (on for one GPU under one_device only), true or false.
            `scale_learning_rate`: `linear` (multiply by the replicas) or `none`.
        hardware: what `detect()` found.
        batch_size: the global batch (`data.batch_size`), split equally among replicas; None (the default)
            skips that check.

    Raises:
        ModelctlError: a setting the hardware cannot honour, or a batch that does not split evenly.
    """
    settings = _settings(training)
    reasons: list[str] = []
    distribution, devices, workers, address = _distribution(settings["distribution"], hardware, reasons)
    if distribution == "tpu":
        if not hardware.tpus:
            raise ValueError(f"the TPU at {address!r} is not connected, so its cores cannot be counted; "
                             "pass the hardware of detect_for(training) or connect_tpu(hardware)")
        replicas = len(hardware.tpus)
    else:
        replicas = workers * len(devices)
    precision = _precision(settings["mixed_precision"], distribution, devices, hardware=hardware, reasons=reasons)
    jit = _jit(settings["jit_compile"], distribution, devices, reasons=reasons)
    if settings["scale_learning_rate"] == "none":
        scale = 1
        reasons.append("learning rate unchanged (scale_learning_rate: none)")
    else:
        scale = replicas
        reasons.append(f"learning rate x {replicas} (linear scaling over {replicas} replicas)" if replicas > 1
                       else "learning rate unchanged (1 replica)")
    per_replica = None
    if batch_size is not None:
        per_replica = _per_replica(batch_size, replicas)
        reasons.append(f"global batch {batch_size} = {per_replica} per replica x {replicas} "
                       f"replica{'s' if replicas != 1 else ''}")
    return Plan(distribution=distribution, devices=devices, replicas=replicas, mixed_precision=precision,
                jit_compile=jit, learning_rate_scale=scale, batch_size=batch_size, per_replica_batch_size=per_replica,
                workers=workers, tpu_address=address, reasons=tuple(reasons))


def _settings(training: Mapping[str, Any]) -> dict[str, Any]:
    """The hardware settings of `training`, defaults filled in from the schema; a spec has had them checked
    already, a `training` mapping given in Python is checked here by the schema, in the spec-error shape.

    Raises:
        SpecError: a setting outside the schema's values, as `training settings: $.training.x: message`.
    """
    from modelctl.spec.messages import section_problems
    from modelctl.spec.schema import build_schema

    schema = build_schema()["properties"]["training"]["properties"]
    given = {name: training[name] for name in SETTINGS if name in training}
    problems = section_problems(given, {name: schema[name] for name in SETTINGS}, where="training settings",
                                path=("training",))
    if problems:
        raise SpecError(problems)
    return {name: given.get(name, schema[name]["default"]) for name in SETTINGS}


def _distribution(requested: str, hardware: Hardware, reasons: list[str]):
    """Returns `(distribution, devices, workers, tpu_address)`."""
    gpus = hardware.gpus
    local = tuple(gpu.device for gpu in gpus) or ("/cpu:0",)
    cluster = hardware.cluster
    tpu_present = bool(hardware.tpus) or hardware.tpu_address is not None
    if requested == "auto":
        if cluster is not None and cluster.workers > 1:
            requested = "multi_worker"
        elif tpu_present:
            requested = "tpu"
        elif len(gpus) > 1:
            reasons.append(f"{len(gpus)} GPUs found: mirrored over {', '.join(local)}")
            return "mirrored", local, 1, None
        else:
            found = f"1 GPU found: {gpus[0].model or 'unknown model'}" if gpus else \
                f"no GPU or TPU found ({hardware.cpu.cores} CPU cores)"
            reasons.append(f"{found}: one_device on {local[0]}")
            return "one_device", local[:1], 1, None
    else:
        reasons.append(f"distribution {requested} (asked for)")
    if requested == "one_device":
        used = f" (1 of {len(gpus)} GPUs used)" if len(gpus) > 1 else ""
        reasons.append(f"one_device on {local[0]}{used}")
        return "one_device", local[:1], 1, None
    if requested == "mirrored":
        reasons.append(f"mirrored over {', '.join(local)}" + (" (one replica)" if len(local) == 1 else ""))
        return "mirrored", local, 1, None
    if requested == "multi_worker":
        return "multi_worker", local, _workers(cluster, hardware, local, reasons=reasons), None
    if not tpu_present:
        raise HardwareError(f"distribution 'tpu' needs a TPU, and none was found (found: {_found(hardware)}; "
                            "TPU_NAME and COLAB_TPU_ADDR are not set). Run on a TPU VM, or set TPU_NAME to the "
                            "TPU's name or grpc:// address, or use distribution 'auto'.")
    where = f" at {hardware.tpu_address}" if hardware.tpu_address not in (None, "local") else ""
    reasons.append(f"TPU with {len(hardware.tpus)} cores found{where}: tpu")
    return "tpu", hardware.tpus, 1, hardware.tpu_address


def _workers(cluster: Cluster | None, hardware: Hardware, local: tuple[str, ...], *, reasons: list[str]) -> int:
    if cluster is None:
        raise HardwareError("distribution 'multi_worker' needs the cluster described by the TF_CONFIG "
                            "environment variable, and TF_CONFIG is not set (found: "
                            f"{_found(hardware)}). Set TF_CONFIG on every worker, such as "
                            '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", '
                            '"index": 0}}, or use distribution \'auto\' or \'mirrored\' on one machine.')
    if cluster.count("ps"):
        servers = cluster.count("ps")
        raise HardwareError(f"distribution 'multi_worker' trains without parameter servers, and TF_CONFIG names "
                            f"{servers} (role 'ps'). Remove 'ps' from TF_CONFIG's cluster.")
    if cluster.task_type == "evaluator":
        raise HardwareError("TF_CONFIG makes this process the cluster's evaluator, and modelctl runs no evaluator "
                            "task: its workers evaluate the validation split after every epoch, and `modelctl "
                            "eval` evaluates the run's checkpoints. Leave the evaluator out of the cluster "
                            "(Vertex AI: no evaluator worker pool; TFJob: no Evaluator replica).")
    if cluster.workers < 1:
        raise HardwareError("distribution 'multi_worker' needs chief or worker tasks in TF_CONFIG's cluster. "
                            f"Received: roles {one_of(role for role, _ in cluster.roles)}")
    task = f"this is {cluster.task_type} {cluster.task_index}" if cluster.task_type else "no task given"
    reasons.append(f"TF_CONFIG names {cluster.workers} worker{'s' if cluster.workers != 1 else ''} ({task}): "
                   f"multi_worker over {len(local)} device{'s' if len(local) != 1 else ''} each "
                   f"({', '.join(local)}), assuming every worker has the same")
    return cluster.workers


def _found(hardware: Hardware) -> str:
    parts = [f"{len(hardware.gpus)} GPU{'s' if len(hardware.gpus) != 1 else ''}" if hardware.gpus else "no GPU"]
    if hardware.tpus:
        parts.append(f"{len(hardware.tpus)} TPU cores")
    parts.append(f"{hardware.cpu.cores} CPU cores")
    return ", ".join(parts)


def _precision(requested: str, distribution: str, devices: tuple[str, ...], *, hardware: Hardware,
               reasons: list[str]) -> str:
    used = [gpu for gpu in hardware.gpus if gpu.device in devices]
    if requested == "mixed_float16" and not used:
        found = f"TPU with {len(hardware.tpus)} cores" if distribution == "tpu" else "CPU only"
        raise HardwareError(f"mixed_precision 'mixed_float16' needs a GPU of compute capability 7.0+, and the run "
                            f"has none (found: {found}; {_found(hardware)}). Use 'auto', 'float32' or "
                            "'mixed_bfloat16'.")
    if requested != "auto":
        note = ""
        slow = [gpu for gpu in used if not gpu.has_tensor_cores]
        if requested == "mixed_float16" and slow:
            note = f"; {slow[0].describe()} is below 7.0, so float16 brings no tensor-core speed-up"
        reasons.append(f"{requested} (asked for){note}")
        return requested
    if distribution == "tpu":
        reasons.append("TPU: mixed_bfloat16 (bfloat16 compute, float32 variables)")
        return "mixed_bfloat16"
    if not used:
        reasons.append("no GPU: float32")
        return "float32"
    slow = [gpu for gpu in used if not gpu.has_tensor_cores]
    if slow:
        reasons.append(f"{slow[0].describe()} is not 7.0+ (no tensor cores): float32")
        return "float32"
    capabilities = sorted({_capability(gpu.compute_capability) for gpu in used})
    reasons.append(f"GPU compute capability {', '.join(capabilities)} (tensor cores): mixed_float16")
    return "mixed_float16"


def _jit(requested: bool | str, distribution: str, devices: tuple[str, ...], *, reasons: list[str]) -> bool:
    if requested != "auto":
        reasons.append(f"XLA {'on' if requested else 'off'} (asked for)")
        return bool(requested)
    if distribution == "one_device" and devices[0].startswith("/gpu:"):
        reasons.append(f"one GPU ({devices[0]}): XLA on")
        return True
    if distribution == "one_device":
        reasons.append("CPU: XLA off")
    else:
        reasons.append(f"XLA off under {distribution} (auto turns it on for one GPU only)")
    return False


def _per_replica(batch_size: int, replicas: int) -> int:
    if batch_size % replicas:
        lower, upper = batch_size // replicas * replicas, (batch_size // replicas + 1) * replicas
        such_as = f"{lower} or {upper}" if lower else str(upper)
        raise HardwareError(f"data.batch_size {batch_size} does not split evenly over {replicas} replicas: it is "
                            f"the global batch, shared equally by the replicas. Use a multiple of {replicas}, "
                            f"such as {such_as}. Received: batch_size={batch_size}")
    return batch_size // replicas


def make_strategy(plan: Plan):
    """The `tf.distribute.Strategy` of `plan`: OneDeviceStrategy, MirroredStrategy, MultiWorkerMirroredStrategy
    (which reads TF_CONFIG itself) or TPUStrategy. `one_device` on the device TensorFlow places work on anyway
    (`/gpu:0`, or `/cpu:0` without a GPU) is the default strategy, as in a plain Keras script: a
    OneDeviceStrategy would distribute every dataset through a multi-device iterator, which costs tens of
    milliseconds per pass.

    Create it before any other TensorFlow work of the process: multi-worker and TPU strategies configure the
    runtime.
    """
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    if plan.distribution == "one_device":
        default = "/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0"
        if plan.device == default:
            return tf.distribute.get_strategy()
        return tf.distribute.OneDeviceStrategy(plan.device)
    if plan.distribution == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(plan.devices))
    if plan.distribution == "multi_worker":
        # The strategy reads TF_CONFIG itself, and knows no `master`: it gets the cluster with the chief named
        # as it expects.
        normalized = tf_config_for_tensorflow(os.environ.get("TF_CONFIG"))
        if normalized is not None:
            os.environ["TF_CONFIG"] = normalized
        return tf.distribute.MultiWorkerMirroredStrategy()
    if plan.distribution == "tpu":
        if plan.tpu_address is None:
            raise ValueError("a tpu plan needs its tpu_address")
        return tf.distribute.TPUStrategy(_connect_tpu(plan.tpu_address, None))
    raise ValueError(f"Invalid value for `distribution`. Expected one of 'one_device', 'mirrored', "
                     f"'multi_worker' or 'tpu'. Received: distribution={plan.distribution!r}")


def apply_precision(plan: Plan) -> str:
    """Set Keras's global dtype policy to `plan.mixed_precision`; returns the policy it replaces.

    Under a mixed policy layers compute in float16 or bfloat16 and keep float32 variables. The model's output
    layer must stay float32 (built with `dtype="float32"`) so softmax and the loss run at full precision: the
    model builder sees to that, this function only sets the policy. Under mixed_float16, Keras's
    `model.compile` wraps the optimizer in a `LossScaleOptimizer` so small gradients do not underflow.
    """
    from modelctl.util.tf import tensorflow

    tensorflow()
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(plan.mixed_precision)
    return previous


def _capability(capability: tuple[int, int] | None) -> str | None:
    return None if capability is None else ".".join(str(part) for part in capability)


def _json_kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
