"""Link every reference entry back to the places that cite it.

Citeproc (with `link-citations: true`) links each citation to its entry
(`#ref-KEY`). This filter gives each citation an anchor (`cite-N`, in
reading order) and ends each entry with links back to those anchors, so a
reader who jumps to the reference list can return. The print stylesheet
turns the back-links into page numbers ("cited on p. 3, 7").

Metadata options: none.

Formats: all; runs after citeproc (it needs the rendered entries, which
citeproc creates).
"""

from __future__ import annotations

import sys
from pathlib import Path

import panflute as pf

if not __package__:  # run alone (pandoc --filter filters/backlinks.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pubbuild import context

LABEL = "\u2191"  # ↑ — in the bundled body font, unlike ↩


def prepare(doc: pf.Doc) -> None:
    shared = context.of(doc)
    shared.cited_at, shared.anchors = {}, 0


def action(elem, doc):
    if isinstance(elem, pf.Cite) and not _in_metadata(elem):
        doc.context.anchors += 1
        anchor = f"cite-{doc.context.anchors}"
        for citation in elem.citations:
            doc.context.cited_at.setdefault(citation.id, []).append(anchor)
        return pf.Span(elem, identifier=anchor, classes=["citation"])
    return None


def finalize(doc: pf.Doc) -> None:
    def add_links(elem, _doc):
        if not (isinstance(elem, pf.Div) and elem.identifier.startswith("ref-")):
            return None
        anchors = doc.context.cited_at.get(elem.identifier.removeprefix("ref-"), [])
        if not anchors or not isinstance(elem.content[-1], pf.Para | pf.Plain):
            return None
        links: list[pf.Inline] = [pf.Span(pf.Str(LABEL), classes=["backlinks-label"])]
        for n, anchor in enumerate(anchors, 1):
            links += [pf.Space(), pf.Link(
                pf.Str(str(n)), url=f"#{anchor}",
                attributes={"aria-label": f"back to citation {n}"})]
        elem.content[-1].content.extend(
            [pf.Space(), pf.Span(*links, classes=["backlinks"])])
        return elem

    doc.walk(add_links)


def _in_metadata(elem) -> bool:
    """A Cite under `nocite:` is not a citation a reader can go back to."""
    while elem is not None:
        if isinstance(elem, pf.MetaValue):
            return True
        elem = elem.parent
    return False


def main(doc: pf.Doc | None = None) -> pf.Doc | None:
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
