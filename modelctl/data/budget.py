"""How much the data pipeline may hold in memory, and the pieces it reads and shuffles in.

    budget = Budget()                              # the defaults below
    Budget(held_bytes=64 * 2**20)                  # a smaller memory budget (tests use tiny ones)

Data whose encoded examples (all splits together) fit in `held_bytes` is held
in memory and permuted whole every epoch. Larger data streams: from the
prepared-data cache, written in pieces of at most `piece_bytes`, or from the
source's parts (files, Parquet row groups, blocks of a CSV file, groups of a
folder's files). Each epoch reads the pieces or parts in an order permuted by
the seed and the epoch, `interleave` parts at a time, and shuffles them in
windows of at least `data.shuffle_buffer` examples and `window_pieces` pieces
(fewer where a window would pass `window_bytes`), so that data sorted by its
label is mixed as well as data that is not.
"""

from __future__ import annotations

import dataclasses

CHUNK_ROWS = 4096
"""Rows read from a source at a time."""

HELD_BYTES = 128 * 2**20
"""Largest encoded data (all splits together) kept in memory; larger data streams every epoch. Held for
training, the examples take about three times this as TensorFlow tensors."""

EVALUATION_BYTES = 64 * 2**20
"""Largest encoded validation and test splits kept in memory beside a training split that streams. TensorFlow
and Keras alone take about 750 MB, so that a 2 GB CSV trains in under 1 GB."""

ESTIMATE_MARGIN = 2
"""Data estimated at more than this many times `HELD_BYTES` is streamed from the start; below it, the first pass
keeps its chunks until they pass `HELD_BYTES`."""

PIECE_BYTES = 256 * 2**10
"""Most bytes of one piece of the prepared-data cache (examples as read: model inputs, label and weight columns):
the unit a streamed epoch permutes. 256 KiB is about 1,100 rows of 54 float32 columns, or 21 RGB images of 64x64.
Smaller pieces mix better and make smaller windows; each costs a read (about 0.1 ms), so that the 2 GB CSV's
13,000 pieces add about a second to an epoch."""

WINDOW_PIECES = 64
"""Fewest pieces (or parts of a source) a streamed epoch shuffles together, however large each is. In data
sorted by its label a piece holds one class; the share of each class in a window of 64 pieces drawn at random is
within about 5 points of its share in the data (one standard deviation), less than in a batch of 32 examples
drawn from the whole data."""

WINDOW_BYTES = 256 * 2**20
"""Most encoded bytes a streamed epoch shuffles together: a window stops growing past it."""

INTERLEAVE = 8
"""Parts of a source (files, row groups, blocks) read at once, a chunk of each in turn, when streaming from the
source."""


@dataclasses.dataclass(frozen=True)
class Budget:
    """The pipeline's sizes; every default is the module constant of the same name.

    Args:
        chunk_rows: rows read from a source at a time; default 4096.
        held_bytes: largest encoded data held in memory; default 128 MiB.
        evaluation_bytes: largest validation and test splits held beside a streamed training split; 64 MiB.
        estimate_margin: data estimated at more than this many times `held_bytes` streams from the first
            pass; default 2.
        piece_bytes: most bytes of a piece of the prepared-data cache; default 256 KiB.
        window_pieces: fewest pieces a streamed epoch shuffles together; default 64.
        window_bytes: most bytes a streamed epoch shuffles together; default 256 MiB.
        interleave: parts of a source read at once when streaming from it; default 8.
    """

    chunk_rows: int = CHUNK_ROWS
    held_bytes: int = HELD_BYTES
    evaluation_bytes: int = EVALUATION_BYTES
    estimate_margin: int = ESTIMATE_MARGIN
    piece_bytes: int = PIECE_BYTES
    window_pieces: int = WINDOW_PIECES
    window_bytes: int = WINDOW_BYTES
    interleave: int = INTERLEAVE

    def piece_rows(self, row_bytes: float) -> int:
        """Rows of a piece whose rows take `row_bytes` each: as many as fit `piece_bytes`, at least 1, at most
        `chunk_rows`."""
        return int(max(1, min(self.chunk_rows, self.piece_bytes // max(row_bytes, 1))))

    def reading(self) -> dict:
        """The sizes that shape what the prepared-data cache writes (part of its key)."""
        return {"chunk_rows": self.chunk_rows, "held_bytes": self.held_bytes,
                "evaluation_bytes": self.evaluation_bytes, "piece_bytes": self.piece_bytes}


__all__ = ["Budget", "CHUNK_ROWS", "ESTIMATE_MARGIN", "EVALUATION_BYTES", "HELD_BYTES", "INTERLEAVE", "PIECE_BYTES",
           "WINDOW_BYTES", "WINDOW_PIECES"]
