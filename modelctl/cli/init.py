"""`modelctl init`: write a starting spec from one of the templates in `modelctl/templates/`, or drafted from
a table of the user's (`--data`).

    run_init("image-cnn", Path("spec.yaml"), force=False, list_templates=False, console=console)
    run_init(None, Path("spec.yaml"), False, False, console, data=Path("iris.csv"), labels=["species"])

Each template is a complete spec whose top comment says what it is for, the data it
expects and what to change. Beside it, `init` writes made-up data of that shape
(`modelctl.init.samples`) unless its path exists, so the spec validates and trains as
written. With `--data`, the spec is drafted from the table (`modelctl.init.profile` and
`modelctl.init.draft`) and what was inferred is printed as a table.

The written file's first line points editors that use the
YAML language server at the schema: at `schemas/modelctl.schema.json` or
`modelctl.schema.json` in the output's folder or a folder above it when there is one,
else at `modelctl.schema.json` beside the spec, which `modelctl schema --output` writes.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml

from modelctl.errors import UsageError, did_you_mean, one_of
from modelctl.util.files import write_text_atomic

TASKS = ("classification", "regression")

TEMPLATES_PACKAGE = "modelctl.templates"
DEFAULT_TEMPLATE = "tabular-classifier"
DEFAULT_OUTPUT = Path("spec.yaml")
MODELINE = "# yaml-language-server: $schema="
SCHEMA_NAME = "modelctl.schema.json"
SCHEMA_PLACES = (Path("schemas") / SCHEMA_NAME, Path(SCHEMA_NAME))
"""Where, in the output's folder or a folder above it, a schema file is looked for, in this order."""


def template_names() -> list[str]:
    """The names of the templates, sorted."""
    folder = resources.files(TEMPLATES_PACKAGE)
    return sorted(item.name[:-len(".yaml")] for item in folder.iterdir() if item.name.endswith(".yaml"))


def template_text(name: str) -> str:
    """The text of template `name`, as shipped.

    Raises:
        UsageError: no template has that name; the message lists them and suggests the closest.
    """
    names = template_names()
    if name not in names:
        raise UsageError(f"'{name}' is not a known template. Expected one of {one_of(names)}."
                         f"{did_you_mean(name, names)}")
    return resources.files(TEMPLATES_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def template_description(name: str) -> str:
    """The `description` of template `name`: one sentence saying what it is for."""
    return yaml.safe_load(template_text(name)).get("description", "")


def schema_reference(folder: Path) -> str | None:
    """The path, relative to `folder`, of the nearest schema file in `folder` or above it; None when none is."""
    folder = folder.resolve()
    for parent in (folder, *folder.parents):
        for place in SCHEMA_PLACES:
            if (parent / place).is_file():
                return Path(os.path.relpath(parent / place, folder)).as_posix()
    return None


def with_modeline(text: str, reference: str) -> str:
    """`text` with its yaml-language-server modeline pointing at `reference` (added when it has none)."""
    lines = text.splitlines(keepends=True)
    modeline = f"{MODELINE}{reference}\n"
    if lines and lines[0].startswith(MODELINE):
        return modeline + "".join(lines[1:])
    return modeline + text


def run_init(template: str | None, output: Path, force: bool, *, list_templates: bool, console,
             data: Path | None = None, labels: list[str] | tuple = (), task: str | None = None) -> Path | None:
    """Write a template spec (and its sample data) or a spec drafted from `data` to `output`, or list the
    templates. Returns the spec written, None when listing.

    Args:
        template: the template's name; None for "tabular-classifier". `modelctl init --list` shows the names.
        output: the spec file to write (its folders are made when missing); an existing folder gets
            `spec.yaml` inside it. The command's default is `spec.yaml`.
        force: overwrite an existing file; default False refuses.
        list_templates: list the templates with what each is for, and write nothing.
        console: a rich Console for messages.
        data: a CSV, TSV or Parquet file, or a folder with one sub-folder of images or .txt files per class, to
            draft the spec from; default None writes a template.
        labels: with `data`, the columns to predict; default none picks a column named label, target, class or
            y, else the last.
        task: with `data`, `classification` or `regression`; default None decides from the label's values.

    Raises:
        UsageError: an unknown template name, `output` exists and `force` is not given, `--template` and
            `--data` together, or a table that cannot be read or used.
    """
    if list_templates:
        render_list(console)
        return None
    if data is None and (labels or task):
        raise UsageError(f"{'--label' if labels else '--task'} goes with --data: the table to draft the spec from")
    if data is not None and template is not None:
        raise UsageError("--template and --data do not go together: a spec is written from a template or "
                         "drafted from your data")
    if task is not None and task not in TASKS:
        raise UsageError(f"--task {task}: expected one of {one_of(TASKS)}.{did_you_mean(task, TASKS)}")
    output = _target(output, force)
    folder = output.parent
    if data is not None and not Path(data).exists():
        raise UsageError(f"--data {data}: no such file or folder")
    if data is not None and Path(data).is_dir():
        from modelctl.init.folders import draft_folder_spec, read_folder

        if labels or task == "regression":
            raise UsageError(f"{data} is a folder: its sub-folder names are the classes, so --label and --task "
                             "regression do not apply")
        profile = read_folder(Path(data))
        text = draft_folder_spec(profile, output, f"modelctl init --data {data}")
        render_folder(profile, console)
    elif data is not None:
        from modelctl.init.draft import draft_spec
        from modelctl.init.profile import read_profile

        profile = read_profile(Path(data), list(labels), task)
        command = " ".join(["modelctl init --data", str(data), *(f"--label {name}" for name in labels),
                            *([f"--task {task}"] if task else [])])
        text = draft_spec(profile, output, command)
        render_profile(profile, console)
    _make_folder(output)
    reference = schema_reference(folder)
    if data is not None:
        write_text_atomic(output, with_modeline(text, reference or SCHEMA_NAME))
        console.print(f"wrote {output}, drafted from {data}", markup=False)
    else:
        name = DEFAULT_TEMPLATE if template is None else template
        text = template_text(name)
        write_text_atomic(output, with_modeline(text, reference or SCHEMA_NAME))
        console.print(f"wrote {output} from the template '{name}'", markup=False)
        _write_sample(name, text, folder, console=console)
    if reference is None:
        schema_file = folder / SCHEMA_NAME
        console.print(f"for completion in editors, write the schema beside it: "
                      f"modelctl schema --output {schema_file}", markup=False)
    if data is None:
        console.print("next: point data.source at your data and change what the comments at the top say, then "
                      f"run modelctl validate {output} and modelctl train {output}", markup=False)
    else:
        console.print(f"next: check the features and labels, then run modelctl validate {output} and "
                      f"modelctl train {output}", markup=False)
    return output


def _target(output: Path, force: bool) -> Path:
    """The spec file to write (`spec.yaml` inside a folder); refuses to overwrite one without `force`."""
    output = Path(output)
    if output.is_dir():
        output = output / DEFAULT_OUTPUT.name
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; pass --force to overwrite it")
    return output


def _make_folder(output: Path) -> None:
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{output}: cannot make the folder {folder}: {error.strerror}") from None


def _write_sample(name: str, text: str, folder: Path, *, console) -> None:
    from modelctl.init.samples import write_sample

    source = yaml.safe_load(text)["data"]["source"]
    written = write_sample(name, source, folder)
    if written is not None:
        what = "images" if written.is_dir() else "rows"
        console.print(f"wrote {written}: made-up {what} in the shape the spec reads, so that it validates and "
                      "trains as written; replace them with your data", markup=False)


def render_profile(profile, console) -> None:
    """Print what `init --data` found in each column: its role and why."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    roles = {"numeric": "feature (numeric)", "categorical": "feature (categorical)", "text": "feature (text)",
             "skip": "left out"}
    table = Table(title=f"{profile.path}: {profile.rows:,}{'+' if profile.more_rows else ''} rows, "
                        f"{len(profile.columns)} columns")
    for heading in ("column", "used as", "why"):
        table.add_column(heading)
    for column in profile.columns:
        role = f"label ({column.kind})" if column.role == "label" else roles[column.role]
        table.add_row(column.name, role, column.reason)
    print_table(table, console)


def render_folder(profile, console) -> None:
    """Print the classes `init --data FOLDER` found and how many files each holds."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    what = "images" if profile.format == "image_folder" else "texts"
    size = f"; resized to {profile.size[0]}x{profile.size[1]}" if profile.size else ""
    table = Table(title=f"{profile.path}: {profile.rows:,} {what} in {len(profile.classes)} classes{size}")
    table.add_column("class (sub-folder)")
    table.add_column(what, justify="right")
    for name, count in profile.classes.items():
        table.add_row(name, str(count))
    print_table(table, console)


def render_list(console) -> None:
    names = template_names()
    width = max(len(name) for name in names)
    console.print("templates (modelctl init --template NAME):", markup=False)
    for name in names:
        default = " (default)" if name == DEFAULT_TEMPLATE else ""
        console.print(f"  {name.ljust(width)}  {template_description(name)}{default}", markup=False)
