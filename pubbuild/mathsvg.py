"""TeX math as SVG images for the print HTML, which WeasyPrint lays out.

WeasyPrint does not lay out MathML, so for the PDF each `Math` element of
the finished AST becomes an `<img>` of an SVG drawn by ziamath (pure
Python, its own STIX Two Math outlines: no LaTeX, no font to embed). The
image is sized in `em`, so it follows the surrounding text size, and its
`alt` is the TeX source, so the PDF's tags carry the formula as text
(pubbuild/pdf.py tags the image as a Formula, its /Alt that alt text).
The screen HTML and the EPUB keep MathML (pandoc's `--mathml`).

This module must not know about the other formats or the manuscript.
"""

from __future__ import annotations

import base64
import html
import re

import panflute as pf

from pubbuild import mathml
from pubbuild.diagnostics import BuildError, Reporter

# ziamath draws in px; at this size 1 em of the text is 16 units.
EM = 16.0
_VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')


def math_to_svg(doc: pf.Doc, reporter: Reporter) -> pf.Doc:
    """Replace every Math in `doc` (a private copy) with an SVG image."""
    def action(elem, _doc):
        if not isinstance(elem, pf.Math):
            return None
        import ziamath  # here: only a PDF with math needs it (slow to import)

        display = elem.format == "DisplayMath"
        try:
            drawing = ziamath.Latex(elem.text, size=EM, inline=not display)
            svg = drawing.svg()
        except Exception as exc:  # ziamath raises plain errors on bad TeX
            raise BuildError(f"cannot typeset math ${elem.text}$: {exc}",
                             reporter.file, reporter.locate(elem.text)) from None
        return pf.RawInline(_img(svg, mathml.alt_text(elem), display), format="html")

    return doc.walk(action)


def _img(svg: str, tex: str, display: bool) -> str:
    match = _VIEWBOX.search(svg)
    _, min_y, width, height = (float(v) for v in match.groups())
    depth = height + min_y  # how far the drawing reaches below the baseline
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    kind = "display" if display else "inline"
    style = (f"width:{width / EM:.3f}em;height:{height / EM:.3f}em;"
             f"vertical-align:{-depth / EM:.3f}em")
    return (f'<img class="math {kind}" role="math" alt="{html.escape(tex)}" '
            f'style="{style}" src="data:image/svg+xml;base64,{data}">')
