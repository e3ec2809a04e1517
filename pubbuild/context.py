"""What the filters of one build share, declared in one place.

A filter reads and writes its shared state here, never as an ad-hoc
attribute of the document: the build makes one `Context` per run of the
pipeline and puts it on the document (`doc.context`); citeproc returns a
new document, and the pipeline moves the context over. A filter run alone
(`pandoc --filter filters/NAME.py`) gets a fresh one from `of`: a reporter
that prints its diagnostics, and the working directory as the folder.

What a filter keeps to itself during its own run (its options, the
anchors it numbers) is declared here too, marked with the filter's name:
a reader sees in one place every piece of state the filters hold.

This module must not know about any particular filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pubbuild import pandoc  # noqa: F401  (panflute then reads any raw format)
from pubbuild.diagnostics import Reporter


@dataclass
class Context:
    reporter: Reporter
    folder: Path  # the manuscript's folder: what it may load (containment)
    index: object | None = None  # pubbuild.citeindex.CitationIndex; citations
    # Left by one filter for the build or for a later filter:
    image_files: list[Path] = field(default_factory=list)  # figures -> manifest
    citation_records: list = field(default_factory=list)   # citations -> check
    quote_style: str | None = None  # quotes -> refquotes (None: from `lang`)
    quotes_paired: int = 0          # quotes, refquotes -> check
    cross_references: object | None = None  # crossref -> check, formats:
    # filters.crossref.Targets, the numbered things and where they are cited
    # A filter's own state during its run:
    options: dict[str, dict] = field(default_factory=dict)  # its metadata options
    cited_at: dict[str, list[str]] = field(default_factory=dict)  # backlinks:
    # an entry's key -> the anchors of the citations that cite it
    anchors: int = 0  # backlinks: citations numbered so far
    reference_sources: list = field(default_factory=list)  # refquotes: the
    # bibliographies' texts (SourceText), to give an entry's file and line

    @classmethod
    def for_manuscript(cls, reporter: Reporter, index=None) -> Context:
        file = reporter.file
        folder = Path(file).resolve().parent if file else Path.cwd()
        return cls(reporter, folder, index)


def of(doc) -> Context:
    """The document's context; a standalone one if the build gave none."""
    context = getattr(doc, "context", None)
    if context is None:
        context = doc.context = Context.for_manuscript(Reporter(echo=True))
    return context


def carry(old, new):
    """`new` (citeproc's result) with `old`'s context."""
    new.context = of(old)
    return new
