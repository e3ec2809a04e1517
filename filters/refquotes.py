"""Quotation marks in the reference list, as in the text.

Citeproc copies titles from the bibliography as they are, so a title typed
with straight quotes (`South Korea seeks "speedy resumption" of ...`)
reaches the reference list with them. This filter pairs the marks of every
reference entry with the same rules `quotes.py` applies to the text (it
calls `quotes.pair`), in the same style, and reports a broken one against
the bibliography file and line.

Metadata options: none (the style is the one `quotes.py` chose).

Formats: all; runs after citeproc, which writes the entries.
"""

from __future__ import annotations

import sys
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/refquotes.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from filters import quotes
from pubbuild import context
from pubbuild.diagnostics import Reporter, SourceText


def prepare(doc: pf.Doc) -> None:
    context.of(doc)
    if doc.context.quote_style is None:  # run without the quotes filter
        lang = str(doc.get_metadata("lang", "en-US"))
        doc.context.quote_style = quotes.resolve_style(lang)
    bibs = doc.get_metadata("bibliography", default=[]) or []
    bibs = [bibs] if isinstance(bibs, str) else bibs
    doc.context.reference_sources = []
    for path in bibs:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the bibliography loader has reported it already
        doc.context.reference_sources.append(SourceText(Path(path), text))


def action(elem, doc):
    if isinstance(elem, pf.Div) and elem.identifier.startswith("ref-"):
        key = elem.identifier.removeprefix("ref-")
        reporter = _entry_reporter(doc, key)
        text_reporter, doc.context.reporter = doc.context.reporter, reporter
        try:
            for block in elem.content:
                if isinstance(block, pf.Para | pf.Plain):
                    block.content = quotes.pair(list(block.content), doc)
        finally:
            doc.context.reporter = text_reporter
        doc.context.reporter.diagnostics.extend(reporter.diagnostics)
    return None


def _entry_reporter(doc: pf.Doc, key: str) -> Reporter:
    """Diagnostics for one entry, positioned in the .bib file that has it."""
    for source in doc.context.reference_sources:
        source.rewind()
        if source.locate("{" + key + ","):
            return Reporter(source)  # searches on from the entry's first line
    return Reporter(None)


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, doc=doc)


if __name__ == "__main__":
    main()
