"""The pandoc that pypandoc_binary bundles: where it is, and its version.

Apart from pubbuild.pandoc (which runs it on documents and needs panflute)
so that the no-op check (pubbuild.uptodate), which records the version in
its keys, imports neither panflute nor pypandoc.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
from pathlib import Path

from pubbuild import children
from pubbuild.diagnostics import BuildError


@functools.cache
def pandoc_path() -> str:
    """The pandoc that pypandoc_binary bundles, and no other.

    pypandoc's own lookup prefers PYPANDOC_PANDOC, or whichever pandoc on
    PATH or in ~/.bin has the highest version: a machine's pandoc would
    then make different bytes, or run a program from outside the project.
    Found without importing pypandoc (which imports urllib and http).
    """
    spec = importlib.util.find_spec("pypandoc")
    if spec is None or spec.origin is None:
        raise BuildError("pypandoc_binary is not installed: "
                         "pip install -r requirements.txt")
    bundled = Path(spec.origin).resolve().parent / "files" / "pandoc"
    if not os.access(bundled, os.X_OK):
        raise BuildError(f"the bundled pandoc is missing ({bundled}): "
                         "pip install -r requirements.txt (pypandoc_binary)")
    return str(bundled)


@functools.cache
def version() -> str:
    """The bundled pandoc's version, e.g. "3.9"."""
    try:
        proc = children.run([pandoc_path(), "--version"], capture_output=True,
                            timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"the bundled pandoc does not run: {exc}") from None
    if proc.returncode != 0:
        raise BuildError("the bundled pandoc does not run: "
                         + proc.stderr.decode("utf-8", "replace").strip()[:200])
    first = proc.stdout.decode("utf-8", "replace").split("\n", 1)[0]
    return first.removeprefix("pandoc").strip()
