"""`modelctl devices`: the hardware TensorFlow sees, and what `auto` training settings would choose on it."""

from __future__ import annotations

import dataclasses
import json

from modelctl.errors import ModelctlError


def run_devices(output_format: str, console) -> dict:
    """Detect the hardware, plan a run with a default training section and print both.

    Args:
        output_format: `text` (default of the command; tables) or `json`.
        console: a rich Console to print to.

    Returns:
        `{"hardware": {...}, "auto": {...} or None, "problem": str or None}`. `auto` is the plan of a default
        training section (distribution, precision, XLA, learning-rate scale and why); when no plan can be made
        (TF_CONFIG names parameter servers, or the configured TPU cannot be reached, for instance) it is None and
        `problem` says why, so the hardware is still shown. An unreachable TPU is shown with what was tried and
        why it failed (`hardware.tpu.unreachable`).

    Raises:
        ModelctlError: TF_CONFIG is malformed.
    """
    from modelctl.training.hardware import TpuUnreachable, connect_tpu, detect, plan

    hardware = detect()
    try:
        hardware = connect_tpu(hardware)
    except TpuUnreachable as error:
        hardware = dataclasses.replace(hardware, tpu_unreachable=f"tried {error.tried}: {error.reason}")
        chosen, problem = None, str(error)
    else:
        try:
            chosen, problem = plan({}, hardware).as_dict(), None
        except ModelctlError as error:
            chosen, problem = None, str(error)
    result = {"hardware": hardware.as_dict(), "auto": chosen, "problem": problem}
    if output_format == "json":
        console.out(json.dumps(result, indent=2), highlight=False)
    else:
        render_tables(result, console)
    return result


def _memory(count: int | None) -> str:
    from modelctl.model.summary import human_bytes

    return "memory unknown" if count is None else human_bytes(count)


def render_tables(result: dict, console) -> None:
    from rich.table import Table
    from rich.text import Text

    from modelctl.util.tables import print_table

    hardware = result["hardware"]
    table = Table(title="Hardware", title_justify="left")
    table.add_column("device")
    table.add_column("details")
    cpu = hardware["cpu"]
    table.add_row("CPU", ", ".join(part for part in (f"{cpu['cores']} logical cores", cpu["model"],
                                                       cpu["platform"]) if part))
    for gpu in hardware["gpus"]:
        capability = gpu["compute_capability"] or "unknown"
        table.add_row(gpu["device"], f"{gpu['model'] or 'unknown model'}, {_memory(gpu['memory_bytes'])}, "
                                     f"compute capability {capability}")
    if not hardware["gpus"]:
        table.add_row("GPU", "none")
    tpu = hardware["tpu"]
    source = f" (from {tpu['address_from']})" if tpu["address_from"] else ""
    if tpu["unreachable"]:
        table.add_row("TPU", Text(f"unreachable at {tpu['address']}{source}; {tpu['unreachable']}"))
    elif tpu["cores"] or tpu["address"]:
        table.add_row("TPU", f"{tpu['cores']} cores at {tpu['address']}{source}")
    else:
        table.add_row("TPU", "none")
    cluster = hardware["cluster"]
    if cluster is None:
        table.add_row("cluster", "none (TF_CONFIG not set)")
    else:
        roles = ", ".join(f"{role}: {count}" for role, count in cluster["roles"].items())
        task = f"; this is {cluster['task_type']} {cluster['task_index']}" if cluster["task_type"] else ""
        table.add_row("cluster", f"{roles} (TF_CONFIG){task}")
    table.add_row("TensorFlow", hardware["tensorflow"])
    table.add_row("Keras", hardware["keras"])
    print_table(table, console)

    chosen = result["auto"]
    if chosen is None:
        console.print(f"auto settings cannot be chosen: {result['problem']}", markup=False)
        return
    table = Table(title="What `auto` chooses", title_justify="left")
    table.add_column("setting")
    table.add_column("choice")
    table.add_row("distribution", chosen["distribution"])
    table.add_row("devices", ", ".join(chosen["devices"]))
    table.add_row("replicas", str(chosen["replicas"]))
    table.add_row("mixed_precision", chosen["mixed_precision"])
    table.add_row("jit_compile", "true" if chosen["jit_compile"] else "false")
    table.add_row("learning rate scale", f"x {chosen['learning_rate_scale']}")
    print_table(table, console)
    for reason in chosen["reasons"]:
        console.print(f"- {reason}", markup=False)
