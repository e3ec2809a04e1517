"""`python build.py verify`: build twice, differently, and compare the bytes."""

from __future__ import annotations


def run(args) -> int:
    """Build twice in different environments and compare every output."""
    from pubbuild import reproduce

    extra = [args.format] if args.format else []
    if args.csl:
        extra += ["--csl", args.csl]
    return reproduce.verify(args.manuscript, extra)
