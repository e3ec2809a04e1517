"""The one answer to "what time is it for this build?".

Outputs that carry a date (PDF metadata, the EPUB's `dcterms:modified`, the
HTML's `dcterms.modified`) take it from here, and nothing else reads the
clock for output. In order: `SOURCE_DATE_EPOCH` if set; else the commit time
of the last git commit that touched the inputs; else the manuscript's
`date:`; else 1980-01-01, the earliest time a zip file can hold (with a
warning): never the wall clock.

A `date:` is read in the forms authors write (`parse_date`): ISO 8601
(`2021-01-29`, `2021-01`, `2021`, a YAML date), `29 January 2021`,
`January 29, 2021`, `29 Jan 2021`, English month names only, so that the
reading does not depend on the locale. Quarto's `today`, `now` and
`last-modified` (`KEYWORDS`) mean the sources' date: `SOURCE_DATE_EPOCH` or
the git commit, which come first anyway; with neither they give no date.

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

# When nothing fixes a date: the zip epoch, so every format can carry it.
FALLBACK = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
# The origin when the only date there is, `date:`, cannot be read: the
# fallback too, but the reader has been told which value and where (not
# "no date").
UNREADABLE = "unreadable date"

# Quarto's date keywords: here, the sources' date (never the wall clock).
KEYWORDS = ("today", "now", "last-modified")

MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
_MONTH = {**{name.lower(): n for n, name in enumerate(MONTHS, 1)},
          **{name[:3].lower(): n for n, name in enumerate(MONTHS, 1)},
          "sept": 9}
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
             "sunday", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri",
             "sat", "sun"}
# 2021, 2021-01, 2021-01-29 (or 2021/01/29), then perhaps a time (a YAML
# timestamp).
_ISO = re.compile(r"(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2})"
                  r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                  r"\s*(?:Z|[+-]\d{2}:?\d{2})?)?)?)?")
_SEPARATORS = re.compile(r"[\s,./-]+")
_ORDINAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")


@dataclass(frozen=True)
class BuildTime:
    moment: dt.datetime
    origin: str  # SOURCE_DATE_EPOCH, git, date, UNREADABLE or fallback


@dataclass(frozen=True)
class History:
    """What git says about the inputs: those inside the repository, and the
    last commit that changed one of them (its time and hash), if any."""

    tracked: list[str]
    committed: dt.datetime | None
    head: str | None


def history(inputs: list[Path]) -> History:
    """The inputs' history, asked once (two git calls) for both the date
    and the commit of a build."""
    tracked = _tracked(inputs)
    if not tracked:
        return History([], None, None)
    out = git.output(["log", "-1", "--format=%ct %H", "--", *tracked],
                     inputs[0].parent) or ""
    stamp, _, head = out.partition(" ")
    if not stamp.isdigit() or not head:
        return History(tracked, None, None)  # never committed, or no repository
    return History(tracked, dt.datetime.fromtimestamp(int(stamp), dt.UTC), head)


def build_time(inputs: list[Path], metadata_date: object = None,
               known: History | None = None) -> BuildTime:
    """The build's timestamp (UTC) and where it came from.

    `metadata_date` is the front matter's `date:` as pandoc or YAML gives
    it (text, a number, a date); `known`, the inputs' history if it was
    already asked."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        if not epoch.strip().isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        return BuildTime(dt.datetime.fromtimestamp(int(epoch), dt.UTC),
                         "SOURCE_DATE_EPOCH")
    committed = (known or history(inputs)).committed
    if committed is not None:
        return BuildTime(committed, "git")
    if metadata_date is not None and str(metadata_date).strip():
        day = parse_date(metadata_date)
        if day is not None:
            return BuildTime(dt.datetime(day.year, day.month, day.day,
                                         tzinfo=dt.UTC), "date")
        if not is_keyword(metadata_date):
            return BuildTime(FALLBACK, UNREADABLE)
    return BuildTime(FALLBACK, "fallback")


def is_keyword(value: object) -> bool:
    """Whether `date:` is one of Quarto's keywords (`today`, ...)."""
    return isinstance(value, str) and value.strip().lower() in KEYWORDS


def parse_date(value: object) -> dt.date | None:
    """The day a `date:` names, or None if it names none (or is a keyword).

    A month without a day is its first day, a year alone its 1 January.
    All-numeric forms other than ISO's (01/02/2021) are refused: which
    number is the month depends on the country."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None  # a list or a mapping: not one day
    text = value.strip()
    match = _ISO.fullmatch(text)
    if match:
        year, month, day = (int(part) if part else 1 for part in match.groups())
        return _day(year, month, day)
    parts = [_ORDINAL.sub(r"\1", part) for part in _SEPARATORS.split(text.lower())
             if part]
    if parts and parts[0] in _WEEKDAYS:  # "Friday, 29 January 2021"
        parts = parts[1:]
    numbers = [part.isdigit() for part in parts]
    if numbers == [True, False, True]:  # 29 January 2021
        day, month, year = parts
    elif numbers == [False, True, True]:  # January 29, 2021
        month, day, year = parts
    elif numbers == [False, True]:  # January 2021
        (month, year), day = parts, "1"
    else:
        return None
    if month not in _MONTH or len(year) != 4 or len(day) > 2:
        return None
    return _day(int(year), _MONTH[month], int(day))


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:  # 31 February, month 13
        return None


def written(day: dt.date, lang: str = "en") -> str:
    """A day as the title block prints it: "29 January 2021" in English
    (the order no reader misreads), ISO 8601 in any other language."""
    if lang.lower().startswith("en"):
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return day.isoformat()


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


def epoch(moment: dt.datetime) -> str:
    """The timestamp as SOURCE_DATE_EPOCH for the tools that read it."""
    return str(int(moment.timestamp()))


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_commit(inputs: list[Path], known: History | None = None) -> str | None:
    """The commit the inputs come from: PUBBUILD_SOURCE_COMMIT if set (a
    rebuild outside git passes on what the PDF recorded), else the last
    commit that changed an input (as for the date), with "+modified" when an
    input differs from what is committed."""
    given = os.environ.get("PUBBUILD_SOURCE_COMMIT")
    if given:
        return given
    found = known or history(inputs)
    if not found.head:
        return None
    changed = git.output(["status", "--porcelain", "--", *found.tracked],
                         inputs[0].parent)
    return found.head + ("+modified" if changed else "")


def parse_iso(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time (as git and users write them), in UTC."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BuildError(f"not an ISO 8601 date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
