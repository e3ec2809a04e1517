"""A manuscript as it was in a git revision (pubbuild/revisions.py), in a
small repository made here: what `diff OLD [NEW]` reads."""

from __future__ import annotations

import os
import subprocess

import pytest

from pubbuild import revisions
from pubbuild.diagnostics import BuildError

GIT_ENV = {"GIT_AUTHOR_NAME": "Kim Vu", "GIT_AUTHOR_EMAIL": "vu@example.org",
           "GIT_COMMITTER_NAME": "Kim Vu", "GIT_COMMITTER_EMAIL": "vu@example.org",
           "GIT_AUTHOR_DATE": "2024-05-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2024-05-01T12:00:00Z"}


def git(repo, *args):
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=repo,
                   check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV, "HOME": str(repo)})


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "text").mkdir(parents=True)
    (repo / "bib").mkdir()
    (repo / "text" / "paper.md").write_text(
        "---\ntitle: T\nbibliography: ../bib/refs.bib\n---\n\nFirst draft.\n",
        encoding="utf-8")
    (repo / "text" / "figure.png").write_bytes(b"\x89PNG old")
    (repo / "bib" / "refs.bib").write_text("@book{a, title={A}}\n", encoding="utf-8")
    (repo / "notes.txt").write_text("not the paper's\n", encoding="utf-8")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "text" / "paper.md").write_text(
        "---\ntitle: T\nbibliography: ../bib/refs.bib\n---\n\nSecond draft.\n",
        encoding="utf-8")
    git(repo, "commit", "-q", "-am", "second")
    return repo


def test_a_revision_is_named_with_its_author_and_date(repo):
    found = revisions.repository(repo / "text" / "paper.md")
    assert found.resolve() == repo.resolve()
    first = revisions.resolve("HEAD~1", repo)
    assert (first.label, first.author, first.date) == (
        "HEAD~1", "Kim Vu", "2024-05-01T12:00:00Z")
    assert len(first.commit) == 40


def test_materialise_writes_the_manuscript_its_folder_and_its_bibliography(
        repo, tmp_path):
    first = revisions.resolve("HEAD~1", repo)
    out = revisions.materialise(first, repo / "text" / "paper.md", repo,
                                tmp_path / "old")
    assert out == tmp_path / "old" / "text" / "paper.md"
    assert "First draft." in out.read_text(encoding="utf-8")
    written = sorted(p.relative_to(tmp_path / "old").as_posix()
                     for p in (tmp_path / "old").rglob("*") if p.is_file())
    # The figure beside it and the .bib it names; not the rest of the repo.
    assert written == ["bib/refs.bib", "text/figure.png", "text/paper.md"]


def test_unknown_revisions_and_missing_manuscripts_are_errors(repo, tmp_path):
    with pytest.raises(BuildError, match="nope: unknown revision"):
        revisions.resolve("nope", repo)
    (repo / "text" / "new.md").write_text("new\n", encoding="utf-8")
    first = revisions.resolve("HEAD~1", repo)
    with pytest.raises(BuildError, match="text/new.md does not exist"):
        revisions.materialise(first, repo / "text" / "new.md", repo, tmp_path / "x")
    outside = tmp_path / "alone" / "paper.md"
    outside.parent.mkdir()
    outside.write_text("x\n", encoding="utf-8")
    with pytest.raises(BuildError, match="not inside a git repository"):
        revisions.repository(outside)
