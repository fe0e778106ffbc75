"""Figures drawn with matplotlib off screen, written as PNG files that a reader never sees half of.

    pyplot = figures.pyplot()
    figure, axes = pyplot.subplots()
    figures.save_png(figure, "plots/loss.png")
"""

from __future__ import annotations

from pathlib import Path

from modelctl.util.files import atomic_path

DPI = 100
"""Pixels per inch of every PNG written."""


def pyplot():
    """`matplotlib.pyplot` on the Agg backend, which draws without a display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def save_png(figure, path: str | Path, *, tight: bool = False) -> Path:
    """Write `figure` to `path` as a PNG of `DPI` through a temporary file and a rename, then close it.

    Args:
        tight: crop the image to what is drawn (`bbox_inches="tight"`); default False: the figure's size.
    """
    try:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, format="png", dpi=DPI, **({"bbox_inches": "tight"} if tight else {}))
    finally:
        pyplot().close(figure)
    return Path(path)
