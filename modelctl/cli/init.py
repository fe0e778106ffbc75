"""`modelctl init`: write a starting spec from one of the templates in `modelctl/templates/`.

    run_init("image-cnn", Path("spec.yaml"), force=False, list_templates=False, console=console)

Each template is a complete spec whose top comment says what it is for, the data it
expects and what to change. The written file's first line points editors that use the
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


def run_init(template: str | None, output: Path, force: bool, list_templates: bool, console) -> Path | None:
    """Write a template spec to `output`, or list the templates. Returns the file written, None when listing.

    Args:
        template: the template's name; None for "tabular-classifier". `modelctl init --list` shows the names.
        output: the spec file to write (its folders are made when missing); an existing folder gets
            `spec.yaml` inside it. The command's default is `spec.yaml`.
        force: overwrite an existing file; default False refuses.
        list_templates: list the templates with what each is for, and write nothing.
        console: a rich Console for messages.

    Raises:
        UsageError: an unknown template name, or `output` exists and `force` is not given.
    """
    if list_templates:
        render_list(console)
        return None
    name = DEFAULT_TEMPLATE if template is None else template
    text = template_text(name)
    output = Path(output)
    if output.is_dir():
        output = output / DEFAULT_OUTPUT.name
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; pass --force to overwrite it")
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{output}: cannot make the folder {folder}: {error.strerror}") from None
    reference = schema_reference(folder)
    write_text_atomic(output, with_modeline(text, reference or SCHEMA_NAME))
    console.print(f"wrote {output} from the template '{name}'", markup=False)
    if reference is None:
        schema_file = folder / SCHEMA_NAME
        console.print(f"for completion in editors, write the schema beside it: "
                      f"modelctl schema --output {schema_file}", markup=False)
    console.print("next: point data.source at your data and change what the comments at the top say, then "
                  f"run modelctl validate {output} and modelctl train {output}", markup=False)
    return output


def render_list(console) -> None:
    names = template_names()
    width = max(len(name) for name in names)
    console.print("templates (modelctl init --template NAME):", markup=False)
    for name in names:
        default = " (default)" if name == DEFAULT_TEMPLATE else ""
        console.print(f"  {name.ljust(width)}  {template_description(name)}{default}", markup=False)
