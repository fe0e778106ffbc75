"""Programs from Debian's packages that some tests drive, installed on first use.

    chromium = debian_program("chromium", package="chromium")            # the page test's browser
    initdb = debian_program("initdb", package="postgresql", also=POSTGRES)  # the search test's server

`python3 -m pytest` on a fresh machine then passes without a setup step of its own: a test that needs a program
which is missing installs its package with apt-get (as root, or through `sudo -n`) and goes on; no test is
skipped. A machine without apt-get, or where the install fails, fails that test with the command to run by hand.
Tests run in several processes at once (pytest-xdist): a file lock lets one of them install while the others
wait for it.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

POSTGRES = "/usr/lib/postgresql/*/bin"
"""Where Debian keeps PostgreSQL's server programs (initdb, pg_ctl), which are not on PATH."""

INSTALL_SECONDS = 900
"""How long one apt-get call may take: chromium is about 100 MB to download and unpack."""


def debian_program(program: str, *, package: str, also: str | None = None) -> Path:
    """The path of `program`, found on PATH or in the folders matched by the glob `also` (the newest version
    first), after installing Debian's `package` when it is found nowhere."""
    found = _find(program, also)
    if found is not None:
        return found
    lock = Path(tempfile.gettempdir()) / "modelctl-tests-apt.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        found = _find(program, also)  # another test process may have installed it while this one waited
        if found is None:
            _apt_install(program, package)
            found = _find(program, also)
    if found is None:
        pytest.fail(f"`apt-get install {package}` ran, yet {program} is still not found")
    return found


def _find(program: str, also: str | None) -> Path | None:
    found = shutil.which(program)
    if found:
        return Path(found).resolve()
    if also:
        for folder in sorted(glob.glob(also), key=_version, reverse=True):
            candidate = Path(folder) / program
            if candidate.is_file():
                return candidate
    return None


def _version(folder: str) -> tuple[int, ...]:
    return tuple(int(part) for part in Path(folder).parent.name.split(".") if part.isdigit())


def _apt_install(program: str, package: str) -> None:
    by_hand = f"apt-get install {package}"
    if shutil.which("apt-get") is None:
        pytest.fail(f"{program} is not installed and this machine has no apt-get: install {package} by hand")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            pytest.fail(f"{program} is not installed, and installing it needs root: run `sudo {by_hand}`")
        prefix = ["sudo", "-n"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run([*prefix, *command], env=environment, capture_output=True, text=True,
                              timeout=INSTALL_SECONDS)
        if done.returncode != 0:
            pytest.fail(f"{program} is not installed and `{' '.join([*prefix, *command])}` failed "
                        f"(exit {done.returncode}); run `{by_hand}` by hand:\n{done.stderr[-2000:]}")
