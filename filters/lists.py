"""Ordered lists keep the delimiter the author typed: `(1)`, `a)`, `(iv)`.

Pandoc's reader keeps an ordered list's delimiter (`OneParen` for `1)`,
`TwoParens` for `(1)`), but its HTML and EPUB writers drop it: every list
prints `1.`, `a.`. This filter wraps each list with parentheses in a Div
whose classes name the delimiter and the numbering style, e.g.
`list-two-parens list-lower-alpha`; the stylesheets (`styles/base.css`,
`styles/print.css`, section `lists`) give such a list a counter style with
the parentheses. The list stays a list numbered by the reader's own
`list-item` counter, so its `start` still counts. The style is a class,
not read from the `type` pandoc writes: in an HTML document a selector on
`type` ignores case, and `a` would match `A`. Lists with a period or
pandoc's default delimiter are left alone.

Metadata options: none.

Formats: HTML, EPUB and PDF print the delimiter through the classes; DOCX
writes the delimiter itself and ignores the wrapper, as most writers do
(JATS writes the Div as `<boxed-text>`). Runs anywhere before the
writers: citeproc neither reads nor writes lists.
"""

from __future__ import annotations

import panflute as pf

# pandoc's delimiter and numbering style -> the wrapper's classes (the
# stylesheets' `lists` section has a counter style for each pair)
DELIMITERS = {"OneParen": "list-one-paren", "TwoParens": "list-two-parens"}
STYLES = {"LowerAlpha": "list-lower-alpha", "UpperAlpha": "list-upper-alpha",
          "LowerRoman": "list-lower-roman", "UpperRoman": "list-upper-roman"}
DECIMAL = "list-decimal"  # Decimal, Example (`(@)`) and DefaultStyle (`#)`)


def action(elem, doc):
    if isinstance(elem, pf.OrderedList) and elem.delimiter in DELIMITERS:
        classes = [DELIMITERS[elem.delimiter], STYLES.get(elem.style, DECIMAL)]
        parent = elem.parent
        if isinstance(parent, pf.Div) and set(classes) <= set(parent.classes):
            return None  # wrapped already (the filter ran before)
        return pf.Div(elem, classes=classes)
    return None


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, doc=doc)


if __name__ == "__main__":
    main()
