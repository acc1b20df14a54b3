"""One form input as HTML, written in Python: the case form has some 130 inputs, and drawing
them through a Jinja macro took most of the case page's server time (about 75 % of "evaluate
this patient"; bench/RESULTS.md).  Same markup as before: a `div.field` with the label, the
control (`aria-invalid` and `aria-describedby` when refused), the help text, a note, and the
messages.  What does not change between requests (ids, labels, choice words) is built once
per field.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from renalpath.web import labels
from renalpath.web.forms import FormField

_NONE_CHOICE_FIELDS = ("tumour.symptoms", "metastases[", "site.")


@functools.lru_cache(maxsize=4096)
def _static(f: FormField) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """(escaped dom id, escaped name, escaped label, (escaped choice, escaped words) …)."""
    choices = tuple((str(escape(c)), str(escape(labels.choice(f.name, c)))) for c in f.choices)
    return str(escape(f.dom_id)), str(escape(f.name)), str(escape(f.label)), choices


def field_html(f: FormField, values: Mapping[str, Any], errors: Mapping[str, Any]) -> Markup:
    dom_id, name, label, choices = _static(f)
    v = values.get(f.name, "")
    messages: Sequence[str] = errors.get(f.name) or ()
    bad = f.name in errors
    invalid = f' aria-invalid="true" aria-describedby="err-{dom_id}"' if bad else ""
    classes = "field" + (" has-error" if bad else "") + (" check" if f.kind == "checkbox" else "")
    out = [f'<div class="{classes}" data-field="{name}">']
    if f.kind == "checkbox":
        checked = " checked" if v and v not in ("false", "off") else ""
        out.append(
            f'<label><input type="checkbox" id="{dom_id}" name="{name}" value="true"{checked}> '
            f"{label}</label>"
        )
    elif f.kind == "multi":
        ticked = v if isinstance(v, (list, tuple)) else ([v] if v else [])
        out.append(f"<fieldset><legend>{label}</legend>")
        for (c, words), raw in zip(choices, f.choices, strict=True):
            checked = " checked" if raw in ticked else ""
            out.append(
                f'<label class="inline"><input type="checkbox" name="{name}" value="{c}"'
                f"{checked}> {words}</label>"
            )
        if f.name.startswith(_NONE_CHOICE_FIELDS):
            checked = " checked" if "__none" in ticked else ""
            out.append(
                f'<label class="inline"><input type="checkbox" name="{name}" value="__none"'
                f"{checked}> none</label>"
            )
        out.append("</fieldset>")
    else:
        out.append(f'<label for="{dom_id}">{label}</label>')
        value = str(escape(v)) if isinstance(v, str) else ""
        if f.kind == "select":
            out.append(f'<select id="{dom_id}" name="{name}"{invalid}>')
            if not f.default:
                out.append('<option value="">—</option>')
            for (c, words), raw in zip(choices, f.choices, strict=True):
                selected = " selected" if v == raw else ""
                out.append(f'<option value="{c}"{selected}>{words}</option>')
            if v and isinstance(v, str) and v not in f.choices:  # kept, never silently lost
                out.append(
                    f'<option value="{value}" selected>{escape(labels.choice(f.name, v))}</option>'
                )
            out.append("</select>")
        elif f.kind == "tristate":
            out.append(
                f'<select id="{dom_id}" name="{name}"{invalid}><option value="">not known</option>'
                f'<option value="true"{" selected" if v == "true" else ""}>yes</option>'
                f'<option value="false"{" selected" if v == "false" else ""}>no</option></select>'
            )
        elif f.kind == "date":
            out.append(f'<input type="date" id="{dom_id}" name="{name}" value="{value}"{invalid}>')
        elif f.kind in ("number", "integer"):
            out.append(
                f'<input type="text" inputmode="decimal" id="{dom_id}" name="{name}" '
                f'value="{value}" autocomplete="off"{invalid}>'
            )
        else:
            out.append(
                f'<input type="text" id="{dom_id}" name="{name}" value="{value}" '
                f'autocomplete="off"{invalid}>'
            )
    if f.help:
        out.append(f'<small class="help">{escape(f.help)}</small>')
    note = values.get(f.name + ":note")
    if note:
        out.append(f'<p class="help field-note" id="note-{dom_id}">{escape(note)}</p>')
    for i, msg in enumerate(messages):
        ident = f' id="err-{dom_id}"' if i == 0 else ""
        out.append(f'<p class="field-error"{ident}>{escape(msg)}</p>')
    out.append("</div>")
    return Markup("".join(out))
