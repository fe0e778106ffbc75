"""The page at `/`: a form generated from the model's inputs that shows its prediction as a bar chart.

A field per numeric column (prefilled with the training mean when the feature
is standardized; one box of comma-separated numbers for a feature of more than
`MAX_NUMBER_FIELDS` columns), a choice per categorical feature (its
vocabulary), a text box per text feature and a file upload per image feature.
The page posts the form as one instance to the predict route, with the token of
its own URL (`/?token=...`) when the server requires one, and draws each
label's class probabilities as bars (or shows the value of a regression label).
Plain HTML, CSS and JavaScript in one page: nothing is fetched from elsewhere.
"""

from __future__ import annotations

import html
import json

from modelctl.serve.instances import FILES, NUMBERS, Field

MAX_NUMBER_FIELDS = 16
"""A numeric feature of more columns than this gets one box of comma-separated numbers."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; color: #222; }
h1 { font-size: 1.4rem; } .meta { color: #666; font-size: .9rem; }
fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0 0 1rem; }
label { display: block; margin: .4rem 0; } label span { display: inline-block; min-width: 11rem; }
input[type=number], select { width: 10rem; } textarea, input.vector { width: 100%; }
button { font-size: 1rem; padding: .4rem 1.2rem; }
.bar { display: flex; align-items: center; margin: .2rem 0; }
.bar .name { min-width: 10rem; } .bar .track { flex: 1; background: #eee; height: 1.1rem; border-radius: 3px; }
.bar .fill { background: #3b7dd8; height: 100%; border-radius: 3px; }
.bar .value { min-width: 5rem; text-align: right; }
.predicted { font-size: 1.2rem; margin: .6rem 0; } .error { color: #b00020; white-space: pre-wrap; }
"""

_SCRIPT = """
const model = JSON.parse(document.getElementById('model').textContent);
const token = new URLSearchParams(location.search).get('token');
const form = document.getElementById('form');
const result = document.getElementById('result');

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(',', 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function instance() {
  const row = {};
  for (const [name, field] of Object.entries(model.fields)) {
    if (field.kind === 'numbers') {
      if (field.inputs === 'vector') {
        const text = form.elements[name].value.trim();
        row[name] = text === '' ? [] : text.split(/[\\s,]+/).map(v => v === '' ? null : Number(v));
      } else {
        for (const column of field.columns) {
          const text = form.elements[column].value.trim();
          row[column] = text === '' ? null : Number(text);
        }
      }
    } else if (field.kind === 'files') {
      const file = form.elements[name].files[0];
      row[name] = file ? {b64: await readFile(file)} : null;
    } else {
      row[name] = form.elements[name].value;
    }
  }
  return row;
}

function bars(label, probabilities) {
  const box = document.createElement('div');
  for (const [name, value] of probabilities) {
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.dataset.label = label;
    bar.dataset.class = name;
    const title = document.createElement('span'); title.className = 'name'; title.textContent = name;
    const track = document.createElement('span'); track.className = 'track';
    const fill = document.createElement('span'); fill.className = 'fill'; fill.style.display = 'block';
    fill.style.width = (100 * Math.max(0, Math.min(1, value))).toFixed(1) + '%';
    track.appendChild(fill);
    const shown = document.createElement('span'); shown.className = 'value'; shown.textContent = value.toFixed(4);
    bar.append(title, track, shown);
    box.appendChild(bar);
  }
  return box;
}

function show(prediction) {
  result.replaceChildren();
  for (const [label, info] of Object.entries(model.labels)) {
    const heading = document.createElement('div');
    heading.className = 'predicted';
    heading.dataset.label = label;
    const value = prediction[label];
    heading.textContent = label + ': ' + (Array.isArray(value) ? value.join(', ') : value);
    result.appendChild(heading);
    const classes = info.classes || [];
    if (info.type === 'binary') {
      const p = prediction[label + '_probability'];
      result.appendChild(bars(label, [[classes[0], 1 - p], [classes[1], p]]));
    } else if (info.type !== 'regression') {
      result.appendChild(bars(label, classes.map(name => [name, prediction[label + '_' + name]])));
    }
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  result.replaceChildren();
  const headers = {'Content-Type': 'application/json'};
  if (token) headers['Authorization'] = 'Bearer ' + token;
  try {
    const answer = await fetch(model.predict, {method: 'POST', headers,
                                               body: JSON.stringify({instances: [await instance()]})});
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error || answer.statusText);
    show(body.predictions[0]);
  } catch (error) {
    const shown = document.createElement('div');
    shown.className = 'error';
    shown.id = 'error';
    shown.textContent = error.message;
    result.appendChild(shown);
  }
});
"""


def render_page(served, fields: dict[str, Field]) -> str:
    """The page's HTML for `served` (a `ServedModel`) and its request fields."""
    # The page reads the modelctl shape of answers whatever the server's default (`?response=`).
    config = {"name": served.name, "predict": f"/v1/models/{served.name}:predict?response=modelctl",
              "fields": {name: {**field.as_dict(), "inputs": _inputs(field)} for name, field in fields.items()},
              "labels": {name: {"type": label.type, "classes": label.classes}
                         for name, label in served.labels.items()}}
    data = json.dumps(config).replace("<", "\\u003c")  # nothing in it can close the script element
    means = _means(served.predictor.fitted)
    parts = [f"<fieldset><legend>{html.escape(name)} ({html.escape(field.type)})</legend>"
             f"{_controls(name, field, means.get(name))}</fieldset>" for name, field in fields.items()]
    title = html.escape(served.name)
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{title}</h1><p class=\"meta\">version {served.version} &middot; {html.escape(served.backend)} "
            f"&middot; spec {html.escape(str(served.predictor.metadata.get('spec_name') or ''))} "
            f"{html.escape(str(served.predictor.metadata.get('spec_hash') or '')[:12])}</p>"
            f"<form id=\"form\">{''.join(parts)}<button type=\"submit\" id=\"predict\">Predict</button></form>"
            f"<div id=\"result\" aria-live=\"polite\"></div>"
            f"<script id=\"model\" type=\"application/json\">{data}</script><script>{_SCRIPT}</script>"
            f"</body></html>\n")


def _inputs(field: Field) -> str:
    if field.kind == NUMBERS:
        return "vector" if len(field.columns) > MAX_NUMBER_FIELDS or len(field.columns) != field.width else "columns"
    return field.kind


def _controls(name: str, field: Field, mean: list | None) -> str:
    if field.kind == NUMBERS:
        if _inputs(field) == "vector":
            shape = f" (shape {list(field.shape)})" if field.shape else ""
            return (f"<label><span>{field.width} numbers{shape}, comma-separated</span>"
                    f"<input class=\"vector\" name=\"{html.escape(name)}\" autocomplete=\"off\"></label>")
        controls = []
        for index, column in enumerate(field.columns):
            value = f" value=\"{mean[index]:.4g}\"" if mean and index < len(mean) else ""
            controls.append(f"<label><span>{html.escape(column)}</span><input type=\"number\" step=\"any\" "
                            f"name=\"{html.escape(column)}\"{value}></label>")
        return "".join(controls)
    if field.kind == FILES:
        return (f"<label><span>image file</span><input type=\"file\" accept=\"image/*\" "
                f"name=\"{html.escape(name)}\"></label>")
    if field.choices:
        options = "".join(f"<option>{html.escape(choice)}</option>" for choice in field.choices)
        return f"<label><span>{html.escape(name)}</span><select name=\"{html.escape(name)}\">{options}</select></label>"
    return (f"<label><span>{html.escape(name)}</span><textarea name=\"{html.escape(name)}\" rows=\"3\">"
            "</textarea></label>")


def _means(fitted) -> dict[str, list]:
    """Feature -> the training means of its columns, for numeric features with a standardize step (`fitted`: a
    `modelctl.runs.Fitted`)."""
    means = {}
    for name, feature in fitted.features.items():
        for step in feature.entry.get("steps") or []:
            if step.get("op") == "standardize" and isinstance(step.get("mean"), list):
                means[name] = step["mean"]
    return means


__all__ = ["MAX_NUMBER_FIELDS", "render_page"]
