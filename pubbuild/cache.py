"""Which outputs are out of date: a content-addressed check before building.

Each output's key is a SHA-256 over exactly what can change it: the
paper's sources (manuscript, bibliographies, CSL style, images), the
pipeline files that output depends on (a print stylesheet change rebuilds
the PDF only, a screen one the HTML only), the tool versions, the build's
date and source commit, and the options. The keys are recorded in
`MANIFEST.json`; a build whose keys match the recorded ones, and whose
outputs still have their recorded hashes, has nothing to do and touches
nothing.

This module must not know about pandoc, panflute or WeasyPrint: it stays
light to import, since the no-op check runs before any of them is needed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path, PurePosixPath

from pubbuild.outputs import COMMON, FORMATS, NOT_OUTPUT, claimed, output_name


def depends(fmt: str, name: str) -> bool:
    """Whether the pipeline file `name` (relative to the project) can change
    the output `fmt` (the table in pubbuild/outputs.py)."""
    def matches(patterns) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

    if matches(FORMATS[fmt].depends):
        return True
    return matches(COMMON) and not matches(NOT_OUTPUT) and not matches(claimed())


def key(fmt: str, inputs: dict, options: dict) -> str:
    """The key of one output, from a manifest's inputs (`Manifest.inputs()`)."""
    pipeline = {name: entry["sha256"] for name, entry in inputs["pipeline"].items()
                if depends(fmt, name)}
    material = {
        "format": fmt,
        "sources": {name: entry["sha256"] for name, entry in inputs["sources"].items()},
        "pipeline": pipeline,
        "tools": inputs["tools"],
        "source": inputs["source"],
        "options": options,
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recorded(out: Path) -> dict | None:
    """The last build's manifest in `out`, if there is a readable one."""
    try:
        return json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def stale(wanted: list[str], name: str, out: Path, keys: dict[str, str]) -> list[str]:
    """The formats among `wanted` whose output must be built again."""
    previous = recorded(out) or {}
    outputs = previous.get("outputs", {})
    result = []
    for fmt in wanted:
        label = output_name(name, fmt)
        entry = outputs.get(label, {})
        path = out / label
        if entry.get("key") != keys[fmt] or not path.is_file() or (
                hashlib.sha256(path.read_bytes()).hexdigest() != entry.get("sha256")):
            result.append(fmt)
    return result


def source_paths(manuscript: Path, previous: dict) -> list[Path] | None:
    """The sources a previous build read, found again from the manuscript's
    place (their names are relative to a common folder); None if unknown."""
    name = previous.get("manuscript")
    if not name:
        return None
    parts = PurePosixPath(name).parts
    if manuscript.parts[-len(parts):] != parts:
        return None
    base = manuscript.parents[len(parts) - 1] if len(parts) > 1 else manuscript.parent
    paths = []
    for source in previous.get("sources", {}):
        if source.startswith("external/"):
            continue  # a packaged style: its package's version is in the tools
        paths.append(base.joinpath(*PurePosixPath(source).parts))
    return paths
