"""Quarto's callouts as boxes with a title, in every format.

Quarto writes a note, tip, warning, caution or important remark as a div,
`::: {.callout-note}`, whose title is its `title` attribute or its first
heading (`## Permission to photograph`); without either, the kind is the
title ("Note", "Tip" …). Read as plain pandoc Markdown, that first heading
would become a section of the paper, numbered and in the table of
contents. This filter takes the title out of the document's outline: the
div gets the classes `callout` and `callout-KIND`, the role `note`, and a
first div of class `callout-title` holding the title in bold; the styles
draw the box.

Metadata options: none.

Formats: all (DOCX and JATS print the title as a bold paragraph); any
place before the writers; independent of citeproc.
"""

from __future__ import annotations

import panflute as pf

KINDS = {"note": "Note", "tip": "Tip", "warning": "Warning",
         "caution": "Caution", "important": "Important"}


def action(elem, doc):
    if not isinstance(elem, pf.Div):
        return None
    kind = next((name.removeprefix("callout-") for name in elem.classes
                 if name.removeprefix("callout-") in KINDS
                 and name.startswith("callout-")), None)
    if kind is None:
        return None
    title: list[pf.Inline] = []
    if elem.attributes.get("title"):
        title = [pf.Str(elem.attributes.pop("title"))]
    elif elem.content and isinstance(elem.content[0], pf.Header):
        title = list(elem.content.pop(0).content)
    if not title:
        title = [pf.Str(KINDS[kind])]
    # A Para has no attributes in pandoc's AST: the title is a div of one.
    elem.content.insert(0, pf.Div(pf.Para(pf.Strong(*title)),
                                  classes=["callout-title"]))
    if "callout" not in elem.classes:
        elem.classes.insert(0, "callout")
    elem.attributes.setdefault("role", "note")
    return elem


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, doc=doc)


if __name__ == "__main__":
    main()
