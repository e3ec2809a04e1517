"""Proving that a build is reproducible: `verify` and `rebuild`.

`verify` builds twice, each time in a fresh copy of the project under a
different temporary path, with deliberately different environments
(working directory, wall clock, TZ, locale, user, umask, hash seed), and
compares every output byte for byte. Where two files differ it says where:
the zip member, the PDF object and byte offset, the line of a text file.

`rebuild` takes a PDF this tool built, extracts the sources and the
manifest it carries, builds it again with this checkout's pipeline, and
says whether the bytes are the same, and if not, which recorded input or
tool version differs.

Builds run as subprocesses of `build.py` (the way a user runs them), so
nothing of this process's state can leak into them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pubbuild import children, limits, packages
from pubbuild.diagnostics import BuildError
from pubbuild.paths import ROOT

# Not copied: outputs, environments, caches.
SKIP = shutil.ignore_patterns("dist", ".venv", "venv", "__pycache__",
                              ".pytest_cache", ".ruff_cache", "*.pyc")


@dataclass(frozen=True)
class Environment:
    """One way of running the build; the two for `verify` differ in all."""

    label: str
    cwd_inside: bool          # run from the project copy, or from its parent
    depth: tuple[str, ...]    # extra folders above the copy (another path)
    env: dict[str, str]
    umask: int
    clock: str | None         # a wall clock set through libfaketime


ENVIRONMENTS = (
    Environment("A", True, (), {
        "TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "alice",
        "USERNAME": "alice", "LOGNAME": "alice", "PYTHONHASHSEED": "0"},
        0o022, None),
    Environment("B", False, ("a longer", "path"), {
        "TZ": "Pacific/Kiritimati", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8",
        "USER": "bob", "USERNAME": "bob", "LOGNAME": "bob",
        "PYTHONHASHSEED": "4242"},
        0o077, "2031-06-15 08:30:00"),
)


# -- verify ----------------------------------------------------------------

def verify(manuscript: Path, extra_args: list[str], out=sys.stdout) -> int:
    """Build twice and compare; 0 when every file is the same."""
    manuscript = manuscript.resolve()
    if not manuscript.is_file():
        raise BuildError("manuscript not found", manuscript)
    fake = faketime_library() is not None
    with tempfile.TemporaryDirectory(prefix="pubbuild-verify-") as tmp:
        results = []
        for environment in ENVIRONMENTS:
            project = Path(tmp, environment.label, *environment.depth, "project")
            copy_project(project)
            target = (project / manuscript.relative_to(ROOT)
                      if manuscript.is_relative_to(ROOT) else manuscript)
            clock = environment.clock if fake else None
            print(f"build {environment.label}: {_describe(environment, clock)}",
                  file=out)
            results.append(_build(project, target, project / "dist", extra_args,
                                  environment, faketime(clock) if clock else {}))
        return _compare(*results, out=out)


def faketime(clock: str) -> dict[str, str]:
    """The environment that starts a process's wall clock at `clock`
    ("YYYY-MM-DD hh:mm:ss", running on from there), through the
    libfaketime.so.1 that the pinned `libfaketime` package ships, preloaded
    as the `faketime` command does. Monotonic clocks are left alone, so
    deadlines still measure real time. Empty where the library is missing
    (another platform than Linux)."""
    library = faketime_library()
    if library is None:
        return {}
    preload = ":".join(filter(None, [str(library), os.environ.get("LD_PRELOAD")]))
    return {"LD_PRELOAD": preload, "FAKETIME": f"@{clock}",
            "DONT_FAKE_MONOTONIC": "1"}


def faketime_library() -> Path | None:
    """libfaketime.so.1 of the `libfaketime` package (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    return packages.shipped("libfaketime", "vendor", "libfaketime", "src",
                            "libfaketime.so.1")


def copy_project(destination: Path) -> None:
    """The project as checked out (with its git history, which dates the
    build), without outputs, environments or caches."""
    shutil.copytree(ROOT, destination, ignore=SKIP, symlinks=True)


def _describe(environment: Environment, clock: str | None) -> str:
    env = environment.env
    where = "inside the project" if environment.cwd_inside else "outside it"
    wall = (f"clock {clock}" if clock else "the real clock" if not environment.clock
            else "the real clock (libfaketime is not installed)")
    return (f"TZ={env['TZ']} LANG={env['LANG']} USER={env['USER']} "
            f"PYTHONHASHSEED={env['PYTHONHASHSEED']} umask {environment.umask:03o}, "
            f"{wall}, cwd {where}")


def _build(project: Path, manuscript: Path, dist: Path, extra_args: list[str],
           environment: Environment, clock_env: dict[str, str]) -> Path:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LC_", "PYTEST"))}
    env.update(environment.env)
    env.update(clock_env)
    command = [sys.executable, str(project / "build.py"), "-q",
               *extra_args, "--manuscript", str(manuscript), "--out", str(dist)]
    cwd = project if environment.cwd_inside else project.parent
    proc = _child_build(command, cwd, env, umask=environment.umask)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise BuildError(f"build {environment.label} failed: "
                         f"{detail[-1] if detail else 'no message'}")
    return dist


def _child_build(command: list[str], cwd, env: dict, file: Path | None = None,
                 umask: int = -1) -> subprocess.CompletedProcess:
    """Run a build as a subprocess within this one's deadline: the child's
    own limit ends a moment earlier, so it stops its children and reports.
    If this build is killed, the child dies with it, and its pandoc runs
    with the child (pubbuild.children)."""
    try:
        return children.run(command, cwd=cwd, env={**env, **limits.for_child()},
                            capture_output=True, text=True, umask=umask,
                            timeout=limits.remaining())
    except subprocess.TimeoutExpired:
        raise limits.expired(file) from None


def _compare(first: Path, second: Path, out) -> int:
    # Every file, in folders too (diff/, response/).
    names = sorted({p.relative_to(root).as_posix() for root in (first, second)
                    for p in root.rglob("*") if p.is_file()})
    width = max(len(name) for name in names)
    print(f"\n{'file':<{width}}  {'size':>9}  {'sha256':<16}  result", file=out)
    differences = []
    for name in names:
        a, b = first / name, second / name
        if not (a.is_file() and b.is_file()):
            differences.append(f"{name}: made by only one of the builds")
            print(f"{name:<{width}}  {'':>9}  {'':<16}  MISSING", file=out)
            continue
        data_a, data_b = a.read_bytes(), b.read_bytes()
        same = data_a == data_b
        digest = hashlib.sha256(data_a).hexdigest()[:16]
        print(f"{name:<{width}}  {len(data_a):>9}  {digest}  "
              f"{'same' if same else 'DIFFERENT'}", file=out)
        if not same:
            differences.append(f"{name}: {where_different(name, data_a, data_b)}")
    if differences:
        print("\nNot reproducible:", file=out)
        for line in differences:
            print(f"  {line}", file=out)
        return 1
    print(f"\nAll {len(names)} files are byte-identical.", file=out)
    return 0


def where_different(name: str, a: bytes, b: bytes) -> str:
    """Where two versions of an output first differ, in the file's terms."""
    if a[:2] == b"PK" and b[:2] == b"PK":
        return _zip_difference(a, b)
    offset = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                  min(len(a), len(b)))
    if a.startswith(b"%PDF"):
        objects = list(re.finditer(rb"(\d+) 0 obj", a[:offset]))
        inside = f"object {objects[-1].group(1).decode()}" if objects else "the header"
        return f"first difference at byte {offset}, in {inside}"
    line = a[:offset].count(b"\n") + 1
    return f"first difference at byte {offset}, line {line}"


def _zip_difference(a: bytes, b: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        infos_a, infos_b = za.infolist(), zb.infolist()
        if [i.filename for i in infos_a] != [i.filename for i in infos_b]:
            return "the members differ in names or order"
        for x, y in zip(infos_a, infos_b, strict=True):
            if za.read(x) != zb.read(y):
                return f"member {x.filename} differs in content"
            if (x.date_time, x.compress_type, x.external_attr) != (
                    y.date_time, y.compress_type, y.external_attr):
                return (f"member {x.filename} differs in its zip entry "
                        f"(time {x.date_time} vs {y.date_time})")
    return "the zip containers differ (same members)"


# -- rebuild ---------------------------------------------------------------

def rebuild(pdf: Path, manifest_name: str, out=sys.stdout) -> int:
    """Rebuild a PDF from the sources it carries; 0 when the bytes match."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    pdf = pdf.resolve()
    if not pdf.is_file():
        raise BuildError("PDF not found", pdf)
    try:
        attachments = PdfReader(pdf).attachments
        files = {name: data[0] for name, data in attachments.items()}
    except (PdfReadError, OSError, ValueError) as exc:
        raise BuildError(f"cannot read the PDF: {exc}", pdf) from None
    if manifest_name not in files:
        raise BuildError("carries no sources to rebuild from (not built by "
                         "this tool)", pdf)
    recorded = json.loads(files.pop(manifest_name))
    with tempfile.TemporaryDirectory(prefix="pubbuild-rebuild-") as tmp:
        project = Path(tmp, "sources")
        for name, data in files.items():
            _safe_path(project, name, pdf).parent.mkdir(parents=True, exist_ok=True)
            _safe_path(project, name, pdf).write_bytes(data)
        manuscript = _safe_path(project, recorded["manuscript"], pdf)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("PYTEST")}
        env["SOURCE_DATE_EPOCH"] = _epoch(recorded["source"]["date"])
        if recorded["source"].get("commit"):
            env["PUBBUILD_SOURCE_COMMIT"] = recorded["source"]["commit"]
        dist = Path(tmp, "dist")
        proc = _child_build([sys.executable, str(ROOT / "build.py"), "-q", "pdf",
                             "--manuscript", str(manuscript), "--out", str(dist)],
                            tmp, env, file=pdf)
        if proc.returncode != 0:
            detail = proc.stderr.strip().splitlines()
            raise BuildError(f"the rebuild failed: {detail[-1] if detail else ''}",
                             pdf)
        rebuilt = (dist / manuscript.with_suffix(".pdf").name).read_bytes()
        current = json.loads((dist / "MANIFEST.json").read_text(encoding="utf-8"))
    given = pdf.read_bytes()
    print(f"given    {hashlib.sha256(given).hexdigest()}  {pdf.name}", file=out)
    print(f"rebuilt  {hashlib.sha256(rebuilt).hexdigest()}  from "
          f"{len(files)} embedded sources, commit "
          f"{recorded['source'].get('commit') or 'none'}, "
          f"date {recorded['source']['date']}", file=out)
    if rebuilt == given:
        print("The rebuild is byte-identical.", file=out)
        return 0
    print(f"The rebuild differs: {where_different(pdf.name, given, rebuilt)}.",
          file=out)
    changes = manifest_changes(recorded, current)
    for change in changes:
        print(f"  {change}", file=out)
    if not changes:
        print("  No recorded input or tool version differs.", file=out)
    return 1


def manifest_changes(recorded: dict, current: dict) -> list[str]:
    """What differs between two manifests' inputs and tools."""
    changes = []
    for section in ("sources", "pipeline", "tools"):
        old, new = recorded.get(section, {}), current.get(section, {})
        for name in sorted(set(old) | set(new)):
            if name not in new:
                changes.append(f"{section}: {name} is gone")
            elif name not in old:
                changes.append(f"{section}: {name} is new")
            elif old[name] != new[name]:
                if section == "tools":
                    changes.append(f"tools: {name} {old[name]} -> {new[name]}")
                else:
                    changes.append(f"{section}: {name} has changed")
    return changes


def _safe_path(root: Path, name: str, pdf: Path) -> Path:
    """An embedded file's name as a path inside `root`, never outside it."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise BuildError(f"refusing an embedded file named {name!r}", pdf)
    return root.joinpath(*parts)


def _epoch(iso: str) -> str:
    import datetime as dt

    moment = dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return str(int(moment.timestamp()))
