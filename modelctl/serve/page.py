"""The page at `/`: a form for the model's inputs that shows the prediction (filled in below)."""

from __future__ import annotations

import html


def render_page(served, fields) -> str:
    return f"<!doctype html><title>{html.escape(served.name)}</title><p>{html.escape(served.name)}</p>"
