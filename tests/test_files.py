"""Writing outputs (pubbuild/files.py `write_all`), in-process: every file or
none, no half-written file and no temporary left behind, the previous
outputs kept when writing fails, what a killed build left cleared."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import threading
from pathlib import Path

import pytest

from pubbuild import files, limits
from pubbuild.diagnostics import BuildError


@pytest.fixture(autouse=True)
def private_lock_folder(tmp_path, monkeypatch):
    """The folder locks live in the temp folder: this test's own."""
    locks = tmp_path / "locks"
    locks.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(locks))


def listing(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if files.TEMPORARY in path.name]


class _Failing:
    """A file stream whose write stops halfway with `exc` (a full disk)."""

    def __init__(self, stream, exc: BaseException):
        self.stream, self.exc = stream, exc

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stream.close()

    def write(self, data: bytes):
        self.stream.write(data[: len(data) // 2])
        self.stream.flush()
        raise self.exc


def failing_write(monkeypatch, nth: int, exc: BaseException) -> None:
    """The `nth` file write_all writes fails halfway with `exc`."""
    real = os.fdopen
    calls = []

    def fdopen(fd, *args, **kwargs):
        stream = real(fd, *args, **kwargs)
        calls.append(fd)
        return _Failing(stream, exc) if len(calls) == nth else stream

    monkeypatch.setattr(os, "fdopen", fdopen)


PREVIOUS = {"paper.pdf": b"old pdf", "paper.html": b"old html",
            "MANIFEST.json": b"{}\n"}


@pytest.fixture
def out(tmp_path) -> Path:
    """An output folder holding a previous build's outputs."""
    folder = tmp_path / "dist"
    folder.mkdir()
    for name, data in PREVIOUS.items():
        (folder / name).write_bytes(data)
    return folder


def new_outputs(folder: Path) -> dict[Path, bytes]:
    return {folder / name: b"new " + data * 1000 for name, data in PREVIOUS.items()}


# -- writing ---------------------------------------------------------------------

def test_every_file_is_written_and_nothing_else(out):
    wanted = new_outputs(out)
    files.write_all(wanted)
    assert listing(out) == {path.name: data for path, data in wanted.items()}


def test_missing_folders_are_made(tmp_path):
    target = tmp_path / "a" / "b" / "paper.pdf"
    other = tmp_path / "a" / "c" / "paper.html"
    files.write_all({target: b"pdf", other: b"html"})
    assert target.read_bytes() == b"pdf" and other.read_bytes() == b"html"


def test_outputs_are_readable_by_everyone_whatever_the_umask(tmp_path):
    """mkstemp makes 0600 files; a published output must be 0644."""
    previous = os.umask(0o077)
    try:
        files.write_all({tmp_path / "paper.pdf": b"pdf"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "paper.pdf").stat().st_mode) == 0o644


def test_no_temporary_file_is_left(out):
    files.write_all(new_outputs(out))
    assert temporaries(out) == []


def test_an_output_folder_that_is_a_file_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "dist"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(BuildError, match="cannot create the output folder") as caught:
        files.write_all({blocker / "sub" / "paper.pdf": b"pdf"})
    assert Path(caught.value.file).is_relative_to(blocker)
    assert blocker.read_bytes() == b"not a folder"


# -- failing while writing -----------------------------------------------------------

def test_a_full_disk_leaves_the_previous_outputs_and_names_the_file(out, monkeypatch):
    failing_write(monkeypatch, 2, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    wanted = new_outputs(out)
    second = list(wanted)[1]
    with pytest.raises(BuildError) as caught:
        files.write_all(wanted)
    monkeypatch.undo()
    assert Path(caught.value.file) == second
    assert os.strerror(errno.ENOSPC) in str(caught.value)
    assert "previous outputs are unchanged" in str(caught.value)
    assert listing(out) == PREVIOUS  # no temporaries, no new file in place


def test_a_failed_first_build_leaves_no_file_at_all(tmp_path, monkeypatch):
    out = tmp_path / "dist"
    failing_write(monkeypatch, 3, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(BuildError):
        files.write_all(new_outputs(out))
    monkeypatch.undo()
    assert listing(out) == {}


def test_the_deadline_while_writing_leaves_the_previous_outputs(out, monkeypatch):
    """Running out of time is not turned into a BuildError (the command says
    it ran out of time) but leaves the folder as it was."""
    failing_write(monkeypatch, 2, limits.OutOfTime())
    with pytest.raises(limits.OutOfTime):
        files.write_all(new_outputs(out))
    monkeypatch.undo()
    assert listing(out) == PREVIOUS


def test_a_folder_it_cannot_write_to_is_named(tmp_path, monkeypatch):
    first = tmp_path / "submission" / "paper.pdf"
    second = tmp_path / "submission.zip"
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if Path(dir) == second.parent:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES),
                                  str(second.parent))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(BuildError) as caught:
        files.write_all({first: b"pdf", second: b"zip"})
    monkeypatch.undo()
    assert not first.exists() and temporaries(tmp_path) == []
    assert Path(caught.value.file) in (second, second.parent)


# -- what a killed build left behind -------------------------------------------------

def test_temporaries_of_a_killed_build_are_cleared(out):
    stale = [out / f".paper.pdf{files.TEMPORARY}k1ll3d",
             out / f".MANIFEST.json{files.TEMPORARY}abc123"]
    for path in stale:
        path.write_bytes(b"half a file")
    (out / ".gitignore").write_bytes(b"*\n")  # not ours: kept
    files.write_all({out / "paper.pdf": b"new pdf"})
    assert temporaries(out) == []
    assert (out / ".gitignore").read_bytes() == b"*\n"
    assert (out / "paper.html").read_bytes() == PREVIOUS["paper.html"]


# -- one build per folder at a time ------------------------------------------------

def test_a_second_build_into_the_same_folder_waits_for_the_first(out):
    started, done = threading.Event(), threading.Event()

    def second_build():
        started.set()
        files.write_all({out / "paper.pdf": b"second"})
        done.set()

    with files._folder_lock(out):  # the first build is writing
        thread = threading.Thread(target=second_build, daemon=True)
        thread.start()
        started.wait(10)
        thread.join(0.3)
        assert not done.is_set()  # it cannot write while the first holds the lock
        assert (out / "paper.pdf").read_bytes() == PREVIOUS["paper.pdf"]
    thread.join(30)
    assert done.is_set() and (out / "paper.pdf").read_bytes() == b"second"
