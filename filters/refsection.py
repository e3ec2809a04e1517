"""Put the reference list under the manuscript's own reference heading.

The build gives the list a heading of its own (`reference-section-title`,
set when the manuscript reads). A manuscript from another pipeline often
ends with its own `# References` (or `# Bibliography`, `## Works Cited`,
`# References {-}`), and citeproc would then add a second heading under
it: two "References" in the text and in the table of contents. So:

- a `::: {#refs} :::` div in the manuscript is where citeproc puts the
  list already, and citeproc then adds no heading: nothing to do;
- else the last heading, at any level, whose text names the reference
  list (`TITLES`, the manuscript's own `reference-section-title`, or the
  option below; case, a section number and a final colon do not count)
  gets an empty `refs` div after the text directly under it (before the
  next heading), is marked unnumbered as citeproc's own heading is, and
  `reference-section-title` is removed, so that the heading is the only
  one. A heading in the middle, followed by appendices, keeps its place.

The work happens in `finalize`: which heading is the list's depends on the
whole document (the last one that names it), and it looks at section-level
blocks only, so panflute is not made to walk every element for nothing.

Metadata options (under `refsection:`, removed from the output metadata):
    titles: []       more heading texts that name the reference list

Formats: all; runs before citeproc, which fills the `refs` div it leaves.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/refsection.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context

NAME = "refsection"
DEFAULTS = {"titles": []}
# Headings that name the reference list, compared case-folded. Not
# "Literature" or "Sources" alone: in English those also head other sections.
TITLES = (
    "references", "reference list", "references cited", "cited references",
    "literature cited", "cited literature", "works cited", "bibliography",
    "references and notes", "notes and references",
    "literatur", "literaturverzeichnis", "références", "bibliographie",
    "referencias", "bibliografía", "referências", "bibliografia",
)
TITLE_KEY = "reference-section-title"
# "7 References", "7.1. References", "IV. References": a number typed by hand.
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*|[ivxlc]+)[.)]?\s+")


def prepare(doc: pf.Doc) -> None:
    options = dict(DEFAULTS)
    given = doc.get_metadata(NAME, default={}) or {}
    options.update(given if isinstance(given, dict) else {})
    if NAME in doc.metadata:
        del doc.metadata[NAME]
    extra = options["titles"]
    extra = [extra] if isinstance(extra, str) else list(extra or [])
    own = doc.get_metadata(TITLE_KEY, default=None)
    names = [*TITLES, *extra, *([own] if isinstance(own, str) else [])]
    context.of(doc).options[NAME] = {"titles": {_key(name) for name in names}}


def action(elem, doc):
    return None  # nothing per element: see finalize


def finalize(doc: pf.Doc) -> None:
    if doc.get_metadata("suppress-bibliography", default=False) is True:
        return  # no list at all
    titles = doc.context.options[NAME]["titles"]
    heading = None
    for block in _blocks(doc):
        if isinstance(block, pf.Div) and block.identifier == "refs":
            return  # the manuscript says where the list goes
        if isinstance(block, pf.Header) and _key(pf.stringify(block)) in titles:
            heading = block
    if heading is None:
        return  # citeproc adds the list, under reference-section-title
    blocks = heading.parent.content
    at = heading.index + 1
    # After what the heading itself introduces ("Entries marked * ..."),
    # before the next heading: a subheading's title is not the list's.
    while at < len(blocks) and not isinstance(blocks[at], pf.Header):
        at += 1
    blocks.insert(at, pf.Div(identifier="refs"))
    if "unnumbered" not in heading.classes:
        heading.classes.append("unnumbered")
    if TITLE_KEY in doc.metadata:
        del doc.metadata[TITLE_KEY]


def _blocks(container):
    """The blocks at section level: the document's, and inside divs (a
    Quarto or word-processor section is a div); not inside quotations,
    lists or notes, whose headings head no section."""
    for block in container.content:
        yield block
        if isinstance(block, pf.Div):
            yield from _blocks(block)


def _key(text: str) -> str:
    return _NUMBERED.sub("", " ".join(str(text).split()).casefold().rstrip(":."))


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc,
                         stop_if=_everything)


def _everything(_elem) -> bool:
    return True  # no walk below the document: finalize reads its blocks


if __name__ == "__main__":
    main()
