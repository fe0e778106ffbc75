"""A network namespace with only a loopback interface, for tests whose servers must not be reachable from outside.

TensorFlow's gRPC server (every worker of a multi-worker run) listens on all interfaces, whatever address
TF_CONFIG gives it, and so may Ray's processes: these tests run them inside a namespace of their own, where the
only interface is `lo`. Processes started with `namespace.command([...])` share it, so they reach one another at
127.0.0.1; the test process itself stays outside and can still signal them.

    with loopback_namespace() as namespace:
        subprocess.Popen(namespace.command(["python", "-m", "..."]))
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid

import pytest


class Namespace:
    def __init__(self, name: str):
        self.name = name

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


@contextlib.contextmanager
def loopback_namespace():
    """A new network namespace with `lo` up, deleted afterwards. Needs root and `ip` (iproute2): the test is
    skipped, saying so, without them."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("multi-worker tests run inside a network namespace of their own, which needs root and `ip` "
                    "(iproute2)")
    name = f"modelctl-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True,
                       capture_output=True)
        yield Namespace(name)
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@pytest.fixture
def namespace():
    with loopback_namespace() as created:
        yield created
