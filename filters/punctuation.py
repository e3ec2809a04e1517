"""Dashes and ellipses, as pandoc's smart extension would print them.

The build reads Markdown without pandoc's `smart` extension, so that the
quotation normaliser (`quotes.py`) sees every quotation mark and space as
the author typed them; smart quoting pairs straight quotes itself and
drops the space in `a "precious`. This filter does the rest of `smart`:
`---` becomes an em dash, `--` an en dash, `...` an ellipsis. Code, math,
raw markup and URLs are not text, so they are never changed.

Metadata options: none.

Formats: all; runs before the citation normaliser, as pandoc's reader
would have (a locator typed "pp. 3--5" reaches it as "pp. 3–5").
"""

from __future__ import annotations

import re

import panflute as pf

DASHES = re.compile(r"---|--|\.\.\.")
REPLACE = {"---": "\u2014", "--": "\u2013", "...": "\u2026"}


def action(elem, doc):
    if isinstance(elem, pf.Str) and ("--" in elem.text or "..." in elem.text):
        link = elem.parent
        if isinstance(link, pf.Link) and pf.stringify(link) == link.url:
            return None  # an autolink's text is its URL
        elem.text = DASHES.sub(lambda m: REPLACE[m.group()], elem.text)
    return None


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, doc=doc)


if __name__ == "__main__":
    main()
