"""`report.md` of `modelctl explain`: the importance table, then each explained example.

The report holds, in order: the title, the split and its example count, a table of the permutation importance
(most important first, with its spread), the importance figure, the per-example method and baseline, then per
example its explained output, the largest attributions and its figures, linked relative to the report's folder.
"""

from __future__ import annotations

from pathlib import Path

from modelctl.util import markdown

TOP = 5
"""Attributions listed per example in the report (the figures show more)."""


def _number(value: float) -> str:
    return f"{value:.4g}" if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3) else f"{value:.4f}"


def _importance_table(features: list[dict]) -> list[str]:
    return markdown.table(["Rank", "Feature", "Importance", "Std"],
                          [(rank, row["name"], _number(row["importance"]), _number(row["std"]))
                           for rank, row in enumerate(features, start=1)], ["---:", "---", "---:", "---:"])


def _alt(path: Path) -> str:
    row, _, feature = path.stem.partition("-")
    return f"Attributions of example {row}" + (f", feature {feature}" if feature else "")


def render_report(title: str, result: dict, *, figures: dict[int, list[Path]], folder: Path) -> str:
    """The Markdown text of `report.md`.

    Args:
        title: the top heading.
        result: the content of `explain.json` (see `modelctl.explain`).
        figures: example number -> its figure and page files.
        folder: the folder the report is written to; links are relative to it.
    """
    from modelctl.explain.explain import contributions

    importance = result["importance"]
    lines = [f"# {markdown.cell(title)}", "",
             f"{result['examples']} examples of the {result['split']} split; label "
             f"`{result['label']}`.", "", "## Permutation importance", "",
             f"Increase of {importance['metric']} (unshuffled: {_number(importance['baseline'])}) when one "
             f"feature's values are shuffled, mean and standard deviation of {importance['repeats']} shuffles "
             f"(seed {importance['seed']}).", "", *_importance_table(importance["features"])]
    lines += ["", f"![Permutation importance]({markdown.link(folder / 'importance.png', folder)})", ""]
    attributions = result.get("attributions")
    if attributions:
        lines += ["## Examples", "", f"Method `{attributions['method']}`; baseline: {attributions['baseline']}.", ""]
        for example in attributions["examples"]:
            row = example["example"]
            lines += [f"### Example {row}", "",
                      f"Output explained: `{markdown.cell(example['target'])}` = {_number(example['score'])}, baseline "
                      f"{_number(example['baseline_score'])}; the attributions sum to the difference up to "
                      f"{_number(example['gap'])}.", ""]
            top = sorted(contributions(example), key=lambda item: -abs(item[1]))[:TOP]
            lines += markdown.table(["Feature", "Attribution"], [(name, _number(value)) for name, value in top],
                                    ["---", "---:"]) + [""]
            for path in figures.get(row, []):
                if path.suffix == ".html":
                    lines += [f"[Highlighted tokens: {path.stem}]({markdown.link(path, folder)})", ""]
                else:
                    lines += [f"![{_alt(path)}]({markdown.link(path, folder)})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


SECTION_START = "<!-- modelctl explain -->"
SECTION_END = "<!-- /modelctl explain -->"
"""The lines around the explanation's section in `eval/<split>/report.md`, which `explain` replaces when run
again."""


def render_section(result: dict, *, folder: Path, report: Path) -> str:
    """The `## Explanation` section of the evaluation's `report.md` in `folder`: the permutation importance's
    table and a link to the explanation's own `report`, between `SECTION_START` and `SECTION_END`."""
    importance = result["importance"]
    lines = [SECTION_START, "## Explanation", "",
             f"Increase of {importance['metric']} when one feature's values are shuffled "
             f"({importance['repeats']} shuffles); per-example attributions and figures in "
             f"[the explanation's report]({markdown.link(report, folder)}).", "",
             *_importance_table(importance["features"][:TOP])]
    if len(importance["features"]) > TOP:
        lines.append(f"| | {len(importance['features']) - TOP} more in the explanation's report | | |")
    return "\n".join(lines + [SECTION_END]) + "\n"


def with_section(text: str, section: str) -> str:
    """`text` (a `report.md`) with its explanation section replaced by `section`, or `section` added at its end."""
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start >= 0 and end > start:
        return text[:start] + section + text[end + len(SECTION_END):].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + section


__all__ = ["SECTION_END", "SECTION_START", "TOP", "render_report", "render_section", "with_section"]
