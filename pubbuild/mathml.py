"""TeX math as MathML with alt text, for the screen HTML and the EPUB.

Pandoc's `--mathml` writes a `<math>` element with the TeX only as an
annotation, which few screen readers read. Here every `Math` of a private
copy of the finished AST becomes the MathML pandoc would write, with an
`alttext` attribute: the TeX, after the equation's number when it has one
(a Span of class `equation` with `xref-alt`, filters/crossref.py), so
"Equation 1: E = mc^2" is what a reader without the picture hears. The PDF
gives its SVG formulas the same alt text (pubbuild/mathsvg.py).

All formulas are converted in one pandoc run, shared by the HTML and the
EPUB of a build; a document without math costs nothing. Pandoc still
sees the `<math>` in the raw HTML, so the EPUB declares its `mathml`
property as before.

This module must not know about the manuscript or the other formats.
"""

from __future__ import annotations

import functools
import html
import re

import panflute as pf

from pubbuild import pandoc
from pubbuild.diagnostics import Reporter

_MATH = re.compile(r"<math\b[^>]*>.*?</math>", re.DOTALL)


def alt_text(math: pf.Math) -> str:
    """The formula's alt text: "Equation 1: TeX" for a numbered one."""
    parent = math.parent
    if isinstance(parent, pf.Span) and parent.attributes.get("xref-alt"):
        return f"{parent.attributes['xref-alt']}: {math.text.strip()}"
    return math.text.strip()


@functools.lru_cache(maxsize=4)
def _mathml(formulas: tuple[tuple[str, str], ...], file) -> tuple[str, ...]:
    """Each (TeX, format) as the `<math>` pandoc's --mathml writes, in one
    run; remembered, so the HTML and the EPUB of one build share it."""
    sample = pf.Doc(*(pf.Plain(pf.Math(text, format=kind)) for text, kind in formulas))
    out, _ = pandoc.write(sample, "html5", ["--mathml"], file=file)
    return tuple(_MATH.findall(out.decode("utf-8")))


def with_alt_text(doc: pf.Doc, reporter: Reporter) -> pf.Doc:
    """`doc` (a private copy) with every Math as MathML carrying `alttext`."""
    found: list[pf.Math] = []
    doc.walk(lambda elem, _doc: found.append(elem) if isinstance(elem, pf.Math)
             else None)
    if not found:
        return doc
    written = _mathml(tuple((math.text, math.format) for math in found),
                      reporter.file)
    if len(written) != len(found):  # not one <math> per formula: leave them
        return doc
    by_id = {id(math): markup for math, markup in zip(found, written, strict=True)}

    def action(elem, _doc):
        if isinstance(elem, pf.Math) and id(elem) in by_id:
            markup = by_id[id(elem)].replace(
                "<math", f'<math alttext="{html.escape(alt_text(elem))}"', 1)
            return pf.RawInline(markup, format="html")
        return None

    return doc.walk(action)
