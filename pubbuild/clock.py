"""The one answer to "what time is it for this build?".

Outputs that carry a date (PDF metadata, the EPUB's `dcterms:modified`, the
HTML's `dcterms.modified`) take it from here, and nothing else reads the
clock for output. In order: `SOURCE_DATE_EPOCH` if set; else the commit time
of the last git commit that touched the inputs; else the manuscript's
`date:`; else 1980-01-01, the earliest time a zip file can hold (with a
warning): never the wall clock.

This module must not know about pandoc, panflute or any output format.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pubbuild import git
from pubbuild.diagnostics import BuildError

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


# When nothing fixes a date: the zip epoch, so every format can carry it.
FALLBACK = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class BuildTime:
    moment: dt.datetime
    origin: str            # SOURCE_DATE_EPOCH, git, date, or fallback


def build_time(inputs: list[Path], metadata_date: str | None = None) -> BuildTime:
    """The build's timestamp (UTC) and where it came from."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        if not epoch.strip().isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        return BuildTime(dt.datetime.fromtimestamp(int(epoch), dt.UTC),
                         "SOURCE_DATE_EPOCH")
    committed = _git_time(inputs)
    if committed is not None:
        return BuildTime(committed, "git")
    if metadata_date:
        match = _DATE.match(metadata_date.strip())
        if match:
            return BuildTime(dt.datetime(*map(int, match.groups()), tzinfo=dt.UTC),
                             "date")
    return BuildTime(FALLBACK, "fallback")


def _tracked(inputs: list[Path]) -> list[str]:
    """The inputs inside the manuscript's repository (a style or .bib kept
    elsewhere, shared by several papers, has no say in its history; git
    refuses a path outside the repository)."""
    if not inputs:
        return []
    top = git.output(["rev-parse", "--show-toplevel"], inputs[0].parent)
    if not top:
        return []
    root = Path(top).resolve()
    return [str(path) for path in inputs if Path(path).resolve().is_relative_to(root)]


def _git_time(inputs: list[Path]) -> dt.datetime | None:
    tracked = _tracked(inputs)
    if not tracked:
        return None
    stamp = git.output(["log", "-1", "--format=%ct", "--", *tracked], inputs[0].parent)
    if not stamp or not stamp.isdigit():
        return None  # not a repository, or the inputs were never committed
    return dt.datetime.fromtimestamp(int(stamp), dt.UTC)


def epoch(moment: dt.datetime) -> str:
    """The timestamp as SOURCE_DATE_EPOCH for the tools that read it."""
    return str(int(moment.timestamp()))


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_commit(inputs: list[Path]) -> str | None:
    """The commit the inputs come from: PUBBUILD_SOURCE_COMMIT if set (a
    rebuild outside git passes on what the PDF recorded), else the last
    commit that changed an input (as for the date), with "+modified" when an
    input differs from what is committed."""
    given = os.environ.get("PUBBUILD_SOURCE_COMMIT")
    if given:
        return given
    tracked = _tracked(inputs)
    folder = inputs[0].parent
    head = tracked and git.output(["log", "-1", "--format=%H", "--", *tracked], folder)
    if not head:
        return None
    changed = git.output(["status", "--porcelain", "--", *tracked], folder)
    return head + ("+modified" if changed else "")


def parse_iso(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time (as git and users write them), in UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BuildError(f"not an ISO 8601 date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
