"""A request's CPU work off the event loop: bodies decoded and checked in worker processes, answers built in threads.

    work = RequestWork(reader, processes=1, threads=2)
    work.start()                                              # the processes start in the background
    columns, count, layout = await work.read(body, "instances")
    content = await work.answer(lambda: encode(...), rows=count)

The event loop only moves bytes, so that `/healthz` and small requests are
answered while a large one is worked on. Decoding JSON is one call into C that
holds Python's lock for as long as it takes (0.4 s for a 16 MiB body of
numbers), so a thread would not free the loop: bodies over `INLINE_BYTES` are
decoded and checked in a pool of processes, which send back the checked columns
(NumPy arrays, strings, image bytes). A small body is read on the loop itself,
where it costs less than handing it over would. Building a large answer runs in
a thread, where Python hands the lock back to the loop every few milliseconds.
With `processes=0` large bodies are read in the threads too (for a machine
where starting processes is not wanted). The processes are spawned, so a script
that serves with them starts its work under `if __name__ == "__main__":`, as
any program using `multiprocessing` does (`modelctl serve` does).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import multiprocessing
import os
import sys
import threading
import time
from typing import Callable

from modelctl.serve.errors import RequestError
from modelctl.serve.instances import InputReader

INLINE_BYTES = 16 * 1024
"""Bodies up to this size are decoded on the event loop (well under a millisecond of work)."""

INLINE_ROWS = 64
"""Answers of up to this many examples are built on the event loop."""

_READER: InputReader | None = None
"""A worker process's reader, made once by `_start_process`."""


def read_body(reader: InputReader, body: bytes, rows_key: str):
    """A body's examples as checked source columns, their count and format (`InputReader.read`).

    Raises:
        RequestError: not UTF-8 JSON, an integer too long to read, or anything `InputReader.read` refuses.
    """
    if not body:
        raise RequestError("$", "the body is empty; expected a JSON object such as {\"instances\": [...]}")
    try:
        parsed = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError("$", "the body is not UTF-8 text; expected a JSON object") from None
    except json.JSONDecodeError as error:
        raise RequestError("$", f"the body is not JSON: {error.msg} at line {error.lineno} column "
                                f"{error.colno}") from None
    except RecursionError:
        raise RequestError("$", "the body is nested too deeply") from None
    except ValueError:  # an integer literal longer than Python converts
        raise RequestError("$", f"the body holds an integer of more than {sys.get_int_max_str_digits()} digits, "
                                "which no model input takes") from None
    return reader.read(parsed, rows_key=rows_key)


def watch_parent(on_gone: Callable[[], None], *, parent: int | None = None, every: float = 1.0) -> None:
    """Call `on_gone()` (in a daemon thread) once this process's parent has ended, so that a process started for
    a server does not outlive it when the server is killed outright (SIGKILL, out of memory).

    Args:
        on_gone: what ends this process.
        parent: the process id of the parent that started this one; default None: this process's parent now. Give
            it whenever the parent can know it: a parent killed while this process was still starting has already
            been replaced (by init), and watching the replacement would never call `on_gone`.
        every: seconds between looks (default 1).
    """
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        on_gone()

    threading.Thread(target=watch, name="modelctl-parent-watch", daemon=True).start()


def _start_process(features: dict, fitted: dict, max_rows: int, max_pixels: int, server: int) -> None:
    global _READER
    watch_parent(lambda: os._exit(0), parent=server)  # nothing of a reading process's work outlives its server
    _READER = InputReader(features, fitted, max_rows=max_rows, max_pixels=max_pixels)


def _read_in_process(body: bytes, rows_key: str):
    return read_body(_READER, body, rows_key)


def _ready() -> bool:
    return _READER is not None


class RequestWork:
    """Where a request's CPU work runs (see the module docstring).

    Args:
        reader: the model's `InputReader`.
        processes: processes that read bodies over `INLINE_BYTES` (default 1; 0 reads them in `threads`).
        threads: threads that build large answers (and read large bodies without processes); default 2.
    """

    def __init__(self, reader: InputReader, *, processes: int = 1, threads: int = 2):
        self.reader = reader
        self.processes = processes
        self.thread_count = max(1, threads)
        self.threads: concurrent.futures.ThreadPoolExecutor | None = None
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the threads and processes (in the background: the server answers meanwhile, small bodies on the
        loop and large ones in the processes as soon as they are up)."""
        if self.threads is None:
            self.threads = concurrent.futures.ThreadPoolExecutor(self.thread_count,
                                                                 thread_name_prefix="modelctl-request")
        if self.processes > 0 and self.pool is None:
            # Spawned, not forked: the server process runs the model's threads, which a fork would copy mid-work.
            self.pool = concurrent.futures.ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_start_process,
                initargs=(self.reader.features, self.reader.fitted, self.reader.max_rows, self.reader.max_pixels,
                          os.getpid()))
            for _ in range(self.processes):
                self.pool.submit(_ready)

    async def read(self, body: bytes, rows_key: str):
        """`read_body` of `body`: on the loop when small, else in a process (or a thread).

        Raises:
            RequestError: see `read_body`; 503 when a reading process ended (it is restarted).
        """
        if len(body) <= INLINE_BYTES:
            return read_body(self.reader, body, rows_key)
        loop = asyncio.get_running_loop()
        self.start()
        if self.processes <= 0:
            return await loop.run_in_executor(self.threads, read_body, self.reader, body, rows_key)
        try:
            return await loop.run_in_executor(self.pool, _read_in_process, body, rows_key)
        except concurrent.futures.process.BrokenProcessPool:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
            self.start()
            raise RequestError("", "the process reading the request ended (out of memory?); it was restarted: "
                                   "retry", 503, retry_after=1) from None

    async def answer(self, build: Callable[[], bytes], rows: int) -> bytes:
        """`build()`, the answer's bytes: on the loop for up to `INLINE_ROWS` examples, else in a thread."""
        if rows <= INLINE_ROWS:
            return build()
        self.start()
        return await asyncio.get_running_loop().run_in_executor(self.threads, build)

    def close(self) -> None:
        """End the processes and threads."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        if self.threads is not None:
            self.threads.shutdown(wait=True)
            self.threads = None


__all__ = ["INLINE_BYTES", "INLINE_ROWS", "RequestWork", "read_body", "watch_parent"]
