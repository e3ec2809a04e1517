"""A manuscript as it was in a git revision, written out to a folder.

`build.py diff OLD [NEW]` reads both revisions through the same pipeline as
a build. For a revision this module writes, into a temporary folder laid
out like the repository, the manuscript, every file of its folder
(figures), and the bibliography and CSL files its front matter names; the
working tree is read in place. Errors name the revision.

This module must not know about pandoc, panflute or the formats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pubbuild import frontmatter, git
from pubbuild.diagnostics import BuildError


@dataclass(frozen=True)
class Revision:
    label: str            # as the user wrote it, or "working tree"
    commit: str | None    # the full hash, None for the working tree
    author: str
    date: str             # ISO 8601, UTC


def repository(path: Path) -> Path:
    root = git.output(["rev-parse", "--show-toplevel"], path.parent)
    if root is None:
        raise BuildError("not inside a git repository: compare two files with "
                         "`diff --files OLD.md NEW.md`", path)
    return Path(root)


def resolve(name: str, repo: Path) -> Revision:
    commit = git.output(["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
                        repo)
    if commit is None:
        raise BuildError(f"{name}: unknown revision")
    info = git.output(["log", "-1", "--format=%an%n%at", commit], repo) or "\n0"
    author, stamp = info.split("\n", 1)
    return Revision(name, commit, author or "Unknown", _iso(int(stamp or 0)))


def working_tree(repo: Path | None, date: str) -> Revision:
    named = repo and git.output(["config", "user.name"], repo, user_config=True)
    return Revision("working tree", None, named or "Author", date)


def materialise(revision: Revision, manuscript: Path, repo: Path,
                destination: Path) -> Path:
    """Write what the build needs of `revision`; the manuscript's new path."""
    relative = PurePosixPath(manuscript.resolve().relative_to(repo).as_posix())
    text = _show(revision, relative, repo)
    if text is None:
        raise BuildError(f"{revision.label}: {relative} does not exist in this "
                         "revision")
    folder = relative.parent
    # Every file of the manuscript's folder (its figures), not the whole
    # repository when the manuscript sits at the top.
    listed = git.output(["ls-tree", "-r", revision.commit, "--", f"{folder}/"
                         if str(folder) != "." else "."], repo) or ""
    wanted = set()
    for line in listed.splitlines():
        kind, _, name = line.partition("\t")
        path = PurePosixPath(name)
        if kind.split()[1:2] == ["blob"] and (str(folder) != "." or
                                             len(path.parts) == 1):
            wanted.add(path)
    meta = frontmatter.fields(text)  # if it parses; if not, the read says where
    for named in frontmatter.files(meta, "bibliography") + frontmatter.files(meta,
                                                                             "csl"):
        wanted.add(PurePosixPath(os.path.normpath(folder / named)))
    for path in sorted(wanted | {relative}):
        if ".." in path.parts:
            continue  # named outside the repository: the read will say so
        data = _show(revision, path, repo, binary=True)
        if data is not None:
            target = destination.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return destination.joinpath(*relative.parts)


def _show(revision: Revision, path: PurePosixPath, repo: Path, binary: bool = False):
    data = git.output(["show", f"{revision.commit}:{path.as_posix()}"], repo,
                      binary=True)
    if data is None or binary:
        return data
    return data.decode("utf-8", "replace")


def _iso(stamp: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
