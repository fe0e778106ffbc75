"""The figures of `modelctl explain`: importance bars, one example's attributions, image overlays, text pages.

    importance_plot(importance, path=folder / "importance.png")
    attribution_plot(described, title="example 0: setosa 0.93", path=folder / "examples" / "0.png")
    overlay_plot(pixels, image, path=folder / "examples" / "0-image.png")
    tokens_html(tokens, title="example 0", path=folder / "examples" / "0-review.html")

Each figure is drawn with matplotlib's Agg backend, written to a temporary file and renamed onto `path` (a
reader never sees half a file), and `path` is returned. Attributions above zero push the explained output up
and are drawn red; those below push it down and are drawn blue.
"""

from __future__ import annotations

import html
from pathlib import Path

from modelctl.util.lazy import numpy as np

from modelctl.util import figures
from modelctl.util.files import write_text_atomic

BARS = 20
"""Most bars a figure shows; the rest are summed into one `N others` bar (attributions) or left out
(importance)."""

UP, DOWN = "#d62728", "#1f77b4"


def importance_plot(importance: dict, *, path: str | Path) -> Path:
    """Horizontal bars of the mean increase of the loss when each unit is shuffled, with its spread
    (one standard deviation) as error bars; the `BARS` most important units, the most important on top."""
    rows = importance["features"][:BARS][::-1]
    pyplot = figures.pyplot()
    figure, axes = pyplot.subplots(figsize=(7, max(2.5, 0.35 * len(rows) + 1.2)))
    axes.barh([row["name"] for row in rows], [row["importance"] for row in rows],
              xerr=[row["std"] for row in rows], color=[UP if row["importance"] >= 0 else DOWN for row in rows],
              capsize=3)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel(f"increase of {importance['metric']} when shuffled (mean of {importance['repeats']})")
    axes.set_title("Permutation importance")
    return figures.save_png(figure, path, tight=True)


def attribution_plot(contributions: list[tuple[str, float]], *, title: str, path: str | Path) -> Path:
    """Horizontal bars of one example's attributions, the largest in size on top; past `BARS`, the rest are
    summed into one bar."""
    ordered = sorted(contributions, key=lambda item: -abs(item[1]))
    if len(ordered) > BARS:
        rest = ordered[BARS - 1:]
        ordered = ordered[:BARS - 1] + [(f"{len(rest)} others", float(sum(value for _, value in rest)))]
    ordered = ordered[::-1]
    pyplot = figures.pyplot()
    figure, axes = pyplot.subplots(figsize=(7, max(2.5, 0.35 * len(ordered) + 1.2)))
    axes.barh([name for name, _ in ordered], [value for _, value in ordered],
              color=[UP if value >= 0 else DOWN for _, value in ordered])
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("attribution")
    axes.set_title(title)
    return figures.save_png(figure, path, tight=True)


def overlay_plot(pixels: np.ndarray, image: np.ndarray, *, title: str, path: str | Path) -> Path:
    """The image in gray beside it with the attributions of its pixels laid over it (red up, blue down, the
    color scale symmetric around zero)."""
    image = np.asarray(image, dtype=np.float64)
    gray = image.mean(axis=2) if image.ndim == 3 else image
    span = float(np.abs(pixels).max()) or 1.0
    pyplot = figures.pyplot()
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(7, 3.6))
    left.imshow(gray, cmap="gray")
    left.set_title("input")
    right.imshow(gray, cmap="gray")
    shown = right.imshow(pixels, cmap="bwr", vmin=-span, vmax=span, alpha=0.6)
    figure.colorbar(shown, ax=right, fraction=0.046, pad=0.04, label="attribution")
    right.set_title("attributions")
    for axes in (left, right):
        axes.set_xticks([])
        axes.set_yticks([])
    figure.suptitle(title)
    return figures.save_png(figure, path, tight=True)


def tokens_html(tokens: list[list], *, title: str, path: str | Path) -> Path:
    """A page showing each token on a background whose strength is its attribution (red up, blue down,
    scaled to the largest in size); hovering a token shows its value."""
    span = max((abs(value) for _, value in tokens), default=0.0) or 1.0
    spans = []
    for token, value in tokens:
        strength = min(1.0, abs(value) / span)
        color = (214, 39, 40) if value >= 0 else (31, 119, 180)
        spans.append(f'<span title="{value:+.4g}" style="background: rgba({color[0]}, {color[1]}, {color[2]}, '
                     f'{strength:.3f}); padding: 1px 2px; border-radius: 3px">{html.escape(str(token))}</span>')
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title></head>\n"
            "<body style=\"font-family: sans-serif; line-height: 2\">\n<h3>" + html.escape(title) + "</h3>\n<p>"
            + " ".join(spans) + "</p>\n<p style=\"color: #666\">Red tokens push the output up, blue ones down; "
            "hover a token for its attribution.</p>\n</body></html>\n")
    write_text_atomic(Path(path), page)
    return Path(path)


__all__ = ["attribution_plot", "importance_plot", "overlay_plot", "tokens_html"]
