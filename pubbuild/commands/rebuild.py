"""`python build.py rebuild X.pdf`: the PDF again from the sources it carries."""

from __future__ import annotations

from pubbuild import pipeline


def run(args) -> int:
    """Rebuild a PDF from the sources it carries and compare the bytes."""
    from pubbuild import reproduce

    return reproduce.rebuild(args.pdf, pipeline.EMBEDDED_MANIFEST)
