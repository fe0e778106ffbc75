"""Dynamic batching: the examples of concurrent requests gathered into one model call.

    batcher = Batcher(served.scores, max_batch=64, timeout_ms=2)
    scores = await batcher.submit(values, count)          # this request's outputs, by label

A request waits in a queue. The batcher takes the first one waiting, then
every request that arrives within `timeout_ms` of it, until the batch holds
`max_batch` examples (a request is never split: one larger than `max_batch`
runs alone, and one that would overflow the batch starts the next). The batch
runs in one call on the model's own thread, so the event loop keeps reading
requests meanwhile; each request gets its rows of the outputs. `max_batch=1`
runs every request by itself (batch-1 serving).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from typing import Callable

import numpy as np

Scores = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclasses.dataclass
class _Waiting:
    values: dict[str, np.ndarray]
    count: int
    future: asyncio.Future


class Batcher:
    """Gathers requests into batches and runs them one batch at a time. When a batch fails, each of its requests
    runs alone, so that a request the model refuses fails by itself.

    Args:
        scores: a request's values (name -> batch) -> outputs by label (`ServedModel.scores`, or encoding and
            then `scores`); the values of several requests are concatenated along the first axis.
        max_batch: most examples in one call (default 64; at least 1).
        timeout_ms: longest wait for more requests after the first of a batch, in milliseconds (default 2;
            0 takes only the requests already waiting).
        on_batch: called with each batch's number of examples (for the metrics); default None.
    """

    def __init__(self, scores: Scores, *, max_batch: int = 64, timeout_ms: float = 2.0,
                 on_batch: Callable[[int], None] | None = None):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; received {max_batch}")
        self.scores = scores
        self.max_batch = max_batch
        self.timeout = max(0.0, timeout_ms) / 1000
        self.on_batch = on_batch
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._carry: _Waiting | None = None

    async def submit(self, values: dict[str, np.ndarray], count: int) -> dict[str, np.ndarray]:
        """The outputs of `scores` on this request's `count` examples, run in a batch with others."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (a test client runs one each time it is opened)
            self._loop, self._queue, self._carry = loop, asyncio.Queue(), None
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="modelctl-model")
            self._task = loop.create_task(self._run_batches())
        waiting = _Waiting(values, count, loop.create_future())
        self._queue.put_nowait(waiting)
        return await waiting.future

    async def close(self) -> None:
        """Stop taking batches (call when no request is waiting) and end the model's thread."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor, self._loop = None, None

    async def _run_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._gather(loop)
            try:
                outputs = await loop.run_in_executor(self._executor, self._call, batch)
            except Exception as error:
                if len(batch) == 1:
                    if not batch[0].future.done():
                        batch[0].future.set_exception(error)
                    continue
                # One request the model refuses must not fail the others: each runs alone.
                for waiting in batch:
                    try:
                        alone = await loop.run_in_executor(self._executor, self._call, [waiting])
                    except Exception as single:
                        if not waiting.future.done():
                            waiting.future.set_exception(single)
                    else:
                        if not waiting.future.done():
                            waiting.future.set_result(alone)
                continue
            start = 0
            for waiting in batch:
                if not waiting.future.done():  # a request whose client left is not answered
                    waiting.future.set_result({name: values[start:start + waiting.count]
                                               for name, values in outputs.items()})
                start += waiting.count

    async def _gather(self, loop) -> list[_Waiting]:
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], first.count
        deadline = loop.time() + self.timeout
        while size < self.max_batch:
            try:
                waiting = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    waiting = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            if size + waiting.count > self.max_batch:
                self._carry = waiting
                break
            batch.append(waiting)
            size += waiting.count
        return batch

    def _call(self, batch: list[_Waiting]) -> dict[str, np.ndarray]:
        if len(batch) == 1:
            values = batch[0].values
        else:
            values = {name: np.concatenate([waiting.values[name] for waiting in batch]) for name in batch[0].values}
        if self.on_batch is not None:
            self.on_batch(sum(waiting.count for waiting in batch))
        return {name: np.asarray(output) for name, output in self.scores(values).items()}


__all__ = ["Batcher"]
