"""Dynamic batching: the examples of concurrent requests gathered into model calls of at most `max_batch`.

    batcher = Batcher(served.predictor.scores, max_batch=64, timeout_ms=2)
    ticket = batcher.expect()                              # a request is being read
    scores = await batcher.submit(values, count, ticket=ticket)    # its outputs, by label

Requests wait in a queue; one thread runs the model, a batch at a time, so the
event loop keeps reading requests meanwhile. A request of more than
`max_batch` examples is cut into pieces of `max_batch`, so that the model's
memory is bounded by the batch, never by the request; each request gets its
rows of the outputs back in order.

A batch starts with the first request waiting and takes every request already
queued behind it. It waits for more (up to `timeout_ms`) only while other
requests are still being read (`expect` says so): with none on the way, it runs
at once, so that a lone client never pays for batching (TensorFlow Serving's
batching does the same). `max_batch=1` runs every example by itself.
"""

from __future__ import annotations

import asyncio
import collections
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


class Ticket:
    """A request on its way to the batcher (`Batcher.expect`); `close()` when it will not come, `submit` takes
    it when it does. Closing twice is harmless."""

    def __init__(self, batcher: Batcher):
        self.batcher = batcher
        self.open = True
        batcher.arriving += 1

    def close(self) -> None:
        if self.open:
            self.open = False
            self.batcher.arriving -= 1
            self.batcher.wake()


class Batcher:
    """Gathers requests into batches and runs them one batch at a time. When a batch fails, each of its requests
    runs alone, so that a request the model refuses fails by itself.

    Args:
        scores: a request's values (name -> batch) -> outputs by label (`Predictor.scores`, or encoding and then
            `scores`); the values of several requests are concatenated along the first axis.
        max_batch: most examples in one call (default 64; at least 1).
        timeout_ms: longest wait for requests being read to join a batch, in milliseconds (default 2; 0 takes
            only the requests already waiting).
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
        self.arriving = 0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: collections.deque[_Waiting] = collections.deque()
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def expect(self) -> Ticket:
        """Say that a request is being read and will likely be submitted: batches wait for it (up to the
        timeout) while it is on its way."""
        return Ticket(self)

    def wake(self) -> None:
        """Tell a batch being gathered that the queue or the requests on their way changed."""
        if self._changed is not None:
            self._changed.set()

    @property
    def waiting(self) -> int:
        """Pieces of requests queued and not yet in a batch."""
        return len(self._pending)

    async def submit(self, values: dict[str, np.ndarray], count: int, *,
                     ticket: Ticket | None = None) -> dict[str, np.ndarray]:
        """The outputs of `scores` on this request's `count` examples, run in batches with others. Cancelling the
        call (a deadline) drops the pieces of the request that have not run yet.

        Args:
            values: the request's values, name -> `count` rows.
            count: its number of examples.
            ticket: the request's `Ticket` from `expect`, closed here as the request joins the queue.

        Raises:
            Exception: what `scores` raised on this request's examples.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (a test client runs one each time it is opened)
            self._loop, self._pending, self._changed = loop, collections.deque(), asyncio.Event()
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="modelctl-model")
            self._task = loop.create_task(self._run_batches())
        pieces = []
        for start in range(0, count, self.max_batch):
            stop = min(count, start + self.max_batch)
            part = values if (start, stop) == (0, count) else {name: column[start:stop]
                                                               for name, column in values.items()}
            pieces.append(_Waiting(part, stop - start, loop.create_future()))
        self._pending.extend(pieces)
        if ticket is not None:
            ticket.close()
        self.wake()
        if len(pieces) == 1:
            return await pieces[0].future
        outputs = await asyncio.gather(*(piece.future for piece in pieces))
        return {name: np.concatenate([output[name] for output in outputs]) for name in outputs[0]}

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
                if not waiting.future.done():  # a request whose client left, or past its timeout, is not answered
                    waiting.future.set_result({name: values[start:start + waiting.count]
                                               for name, values in outputs.items()})
                start += waiting.count

    def _pop(self) -> _Waiting | None:
        """The first queued piece still wanted (requests past their timeout are dropped), or None."""
        while self._pending:
            waiting = self._pending.popleft()
            if not waiting.future.done():
                return waiting
        return None

    async def _gather(self, loop) -> list[_Waiting]:
        first = self._pop()
        while first is None:
            self._changed.clear()
            await self._changed.wait()
            first = self._pop()
        batch, size = [first], first.count
        deadline = loop.time() + self.timeout
        while size < self.max_batch:
            waiting = self._pop()
            if waiting is None:
                remaining = deadline - loop.time()
                if self.arriving <= 0 or remaining <= 0:
                    break  # nothing on its way: run now rather than wait for nobody
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    break
                continue
            if size + waiting.count > self.max_batch:
                self._pending.appendleft(waiting)
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


__all__ = ["Batcher", "Ticket"]
