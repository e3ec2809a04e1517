"""The one answer to "what time is it for this build?".

Outputs that carry a date (PDF metadata, the EPUB's `dcterms:modified`, the
HTML's `dcterms.modified`) take it from here, and nothing else reads the
clock for output. In order: `SOURCE_DATE_EPOCH` if set; else the commit time
of the last git commit that touched the inputs; else the manuscript's
`date:`; else none (the outputs then carry no date, never the wall clock).

This module must not know about pandoc, panflute or any output format.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

from pubbuild.diagnostics import BuildError

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def build_time(inputs: list[Path], metadata_date: str | None = None
               ) -> dt.datetime | None:
    """The build's timestamp (UTC), or None when nothing fixes one."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        if not epoch.strip().isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    committed = _git_time(inputs)
    if committed is not None:
        return committed
    if metadata_date:
        match = _DATE.match(metadata_date.strip())
        if match:
            return dt.datetime(*map(int, match.groups()), tzinfo=dt.UTC)
    return None


def _git_time(inputs: list[Path]) -> dt.datetime | None:
    if not inputs:
        return None
    folder = inputs[0].parent
    try:
        proc = subprocess.run(
            ["git", "log", "-1", "--format=%ct", "--", *map(str, inputs)],
            cwd=folder, capture_output=True, text=True, timeout=30,
            env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    stamp = proc.stdout.strip()
    if proc.returncode != 0 or not stamp.isdigit():
        return None  # not a repository, or the inputs were never committed
    return dt.datetime.fromtimestamp(int(stamp), dt.UTC)


def epoch(moment: dt.datetime | None) -> str | None:
    """The timestamp as SOURCE_DATE_EPOCH for the tools that read it."""
    return None if moment is None else str(int(moment.timestamp()))


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
