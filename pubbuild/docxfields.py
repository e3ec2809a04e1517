"""Word fields for the numbers filters/crossref.py wrote (in progress)."""

from __future__ import annotations

import panflute as pf


def prepare(doc: pf.Doc) -> pf.Doc:
    """The AST for pandoc's DOCX writer (a private copy)."""
    return doc


def finish(data: bytes) -> bytes:
    """The written .docx, repaired where pandoc's writer cannot say it."""
    return data
