"""The filters: one module each, and here, once, the order they run in.

Each filter is a panflute filter (`main(doc=None)`, `prepare`/`action`/
`finalize`) that also runs alone as `pandoc --filter filters/NAME.py`. What
filters share (the reporter, the citation index, what they leave for the
build) is declared in `pubbuild.context`.

`PIPELINE` is read by the build (`pubbuild.pipeline`), the tests, the
benchmark and the README's list (a test compares them). Adding a filter is
a module here and one entry below, in its place relative to citeproc.

This package must not know about the build's commands or output formats.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

CITEPROC = "citeproc"  # pandoc's citeproc: not a module here, a place in the order


@dataclass(frozen=True)
class Filter:
    name: str  # filters/NAME.py, or CITEPROC
    place: str  # why it runs where it does

    def module(self):
        """The filter's module (imported on first use: a no-op build does
        not pay for any of them)."""
        return importlib.import_module(f"{__name__}.{self.name}")


PIPELINE = (
    Filter("authors", "metadata only: any place before the writers would do"),
    Filter("figures", "alt text and image checks: any place before the writers"),
    Filter("lists", "list delimiters the HTML writers drop, kept as classes: "
                    "any place before the writers"),
    Filter("callouts", "Quarto's callout titles out of the outline: any place "
                       "before the writers"),
    Filter("latex", "typed LaTeX made visible, raw formats accounted for: "
                    "before rawhtml (which checks the links and raw HTML it "
                    "leaves) and before citations (its Cites are checked)"),
    Filter("rawhtml", "raw HTML made safe: any place before the writers"),
    Filter("crossref", "figures, tables, equations, sections numbered and "
                       "references resolved: after latex (its labels and "
                       "references) and before citations (a cross-reference "
                       "is never a citation)"),
    Filter("punctuation", "dashes, ellipses: before citations, as the reader "
                          "would see them"),
    Filter("citations", "before citeproc: it creates the Cites citeproc renders"),
    Filter("quotes", "after citations (a citation is a unit it does not look "
                     "into and ends a quotation's scope); before citeproc"),
    Filter("refsection", "before citeproc: it leaves the `refs` div under the "
                         "manuscript's own reference heading, for citeproc to fill"),
    Filter(CITEPROC, "renders citations and writes the reference list"),
    Filter("refquotes", "after citeproc: the quotation marks of the entries it "
                        "wrote"),
    Filter("backlinks", "after citeproc: it links the entries citeproc wrote"),
)
NAMES = tuple(step.name for step in PIPELINE)
BEFORE_CITEPROC = PIPELINE[:NAMES.index(CITEPROC)]
AFTER_CITEPROC = PIPELINE[NAMES.index(CITEPROC):]  # citeproc first
MODULES = tuple(name for name in NAMES if name != CITEPROC)
