"""Limits: time, memory and disk; pathological input at N = 10,000.

Each ends with one line naming the limit (or builds), leaves the previous
outputs as they were and no child running; so does a build interrupted
with Ctrl-C or killed, and builds run at once give a lone build's bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from badinput import PATHOLOGICAL, build, one_error_line, project, traced
from conftest import ROOT, child_env, run_build
from pubbuild import reproduce


def start_build(manuscript: Path, out: Path, *args: str, **env: str):
    """A build started in its own session (see `_session`), stderr piped,
    with Ctrl-C's signal at its default as in a terminal, even where this
    test run was started in the background, which ignores it."""
    import signal
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "-q", *args, "--manuscript",
         str(manuscript), "--out", str(out)], cwd=manuscript.parent,
        stderr=subprocess.PIPE, text=True, env=child_env(**env),
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _session(leader: int) -> list[str]:
    """The processes still running in the session `leader` started."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = text[text.index("(") + 1:text.rindex(")")], \
            text[text.rindex(")") + 2:].split()
        if int(fields[3]) == leader and fields[0] != "Z":
            left.append(name)
    return left


def repeated_article(path: Path, times: int) -> Path:
    """The article's text `times` over, in one manuscript at `path`."""
    text = (ROOT / "manuscript" / "article.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    front = re.sub(r"^(bibliography|csl): (\S+)$",
                   lambda m: f"{m[1]}: {ROOT / 'manuscript' / m[2]}", front, flags=re.M)
    path.write_text(f"---\n{front}---\n{body * times}", encoding="utf-8")
    return path


_BRACKETS = ("paper.md:9: square brackets nested 7 deep (the limit is 6; a [ left "
             "open counts, \\[ does not)")


_TARGETS = ("paper.md:9: link targets `](` left open or nested 17 deep (the limit "
            "is 16)")


_TAGS = ("paper.md:9: 17 raw HTML tags `<` left without their `>` (the limit is "
         "16; write \\< for a literal one)")


# How each ends at the default limits: built (None), or refused with this
# line, which names the construct, where its limit was crossed (the case
# starts on line 9) and the limit.
ENDS = {
    "nested strong emph": "paper.md:9: emphasis nested 17 deep (the limit is 16)",
    "many emph closers with no openers": None,
    "many emph openers with no closers": None,
    "many link closers with no openers": None,
    "many link openers with no closers": _BRACKETS,
    "mismatched openers and closers": None,
    "openers and closers multiple of 3": None,
    "link openers and emph closers": _BRACKETS,
    "pattern [ (]( repeated": _TARGETS,
    "pattern ![[]() repeated": _BRACKETS,
    "hard link/emph case": None,
    "nested brackets": _BRACKETS,
    "nested block quotes": "paper.md:9: block quotes nested 17 deep (the limit is "
                           "16)",
    "deeply nested lists": "paper.md:25: lists nested 17 deep (the limit is 16)",
    "U+0000 in input": None,
    "backticks": "paper.md:9: 21 backticks left unmatched in one paragraph (the "
                 "limit is 16; write \\` for a literal one)",
    "unclosed links A": _TARGETS,
    "unclosed links B": _TARGETS,
    "unclosed <!--": "paper.md:9: 17 raw HTML comments `<!--` left open (the limit "
                     "is 16)",
    "unclosed <?": _TAGS,
    "unclosed <!X": _TAGS,
    "unclosed <![CDATA[": _BRACKETS,
    "many references": None,
    "reference collisions": None,
    "nested lists on one line": "paper.md:9: lists nested 17 deep (the limit is 16)",
    "nested spans": _BRACKETS,
    "nested notes": _BRACKETS,
    "unclosed <span>s": "paper.md:9: <span>s and square brackets nested 7 deep (the "
                        "limit is 6)",
    "nested raw HTML": "paper.md:9: raw HTML elements nested 17 deep (the limit is "
                       "16)",
    "nested fenced divs": "paper.md:25: fenced divs `:::` nested 17 deep (the limit "
                          "is 16)",
    "many citations": None,
    "entities and escapes": None,
    "capitals without a space": None,
    "YAML aliases (billion laughs)": "paper.md:14: YAML aliases repeat 74,718 values "
                                     "(the limit is 10,000)",
}


@pytest.mark.slow
def test_pathological_markdown_ends_within_the_limits(tmp_path):
    """30,000 nested brackets and 3,000 nested block quotes are refused by
    the pre-scan (pubbuild/prescan.py) with the line and the limit, before
    pandoc ever runs: not even a 64 MiB heap limit is reached. A flat 2 MB
    paragraph, which the pre-scan lets through, still meets pandoc's own
    heap limit. Nothing is written."""
    out = tmp_path / "dist"
    brackets = project(tmp_path, body="[" * 30000 + "a" + "]" * 30000 + "\n")
    result, outside, trace = traced(
        ["-q", "--manuscript", str(brackets), "--out", str(out)],
        folders=(tmp_path, out), cwd=tmp_path, env={"PUBBUILD_MEMORY_LIMIT": "64"})
    assert outside == []
    assert one_error_line(result) == (
        "paper.md:7: square brackets nested 7 deep (the limit is 6; a [ left open "
        "counts, \\[ does not)")
    assert not re.search(r'execve\("[^"]*/pandoc"', trace)
    quotes = project(tmp_path, body="> " * 3000 + "deep\n\nText ([Vu, 2021](#)).\n")
    assert one_error_line(build(quotes, out)) == (
        "paper.md:7: block quotes nested 17 deep (the limit is 16)")
    flat = project(tmp_path, body="x " * 1_000_000 + "\n")
    assert one_error_line(build(flat, out, "html",
                                env={"PUBBUILD_MEMORY_LIMIT": "64"})) == (
        "paper.md: pandoc needed more than 64 MiB (PUBBUILD_MEMORY_LIMIT)")
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_inputs_end_within_the_limit(tmp_path, name):
    """At the default limits each is built, or refused by the pre-scan with
    its one line (ENDS); no traceback, no output left when refused, no child
    left running. How long it took is printed (`pytest -rP`), not asserted:
    bench/pathological.py measures it."""
    import os
    import signal
    import subprocess
    import time

    assert ENDS.keys() == PATHOLOGICAL.keys()
    manuscript = project(tmp_path, body=f"Text ([Vu, 2021](#)).\n\n"
                                        f"{PATHOLOGICAL[name]}\n")
    out = tmp_path / "dist"
    started = time.monotonic()
    process = start_build(manuscript, out, "html", SOURCE_DATE_EPOCH="1700000000")
    try:
        _, stderr = process.communicate(timeout=120)  # a hang guard only
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the build's
        process.communicate()
        pytest.fail(f"{name}: still running after 120 s")
    print(f"{name}: {time.monotonic() - started:.1f} s")
    assert _session(process.pid) == []
    assert "Traceback" not in stderr
    if ENDS[name] is None:
        assert process.returncode == 0, stderr
        assert (out / "paper.html").is_file()
    else:
        assert (process.returncode, stderr.strip()) == (1, ENDS[name])
        assert not out.exists()


@pytest.mark.slow
def test_a_build_past_the_time_limit_fails_cleanly(tmp_path):
    out = tmp_path / "dist"
    result = build(ROOT / "manuscript" / "article.md", out, "pdf",
                   env={"PUBBUILD_TIME_LIMIT": "1.5"}, cwd=ROOT)
    line = one_error_line(result)
    # One deadline for the whole build (about 3 s here): wherever it struck.
    stage = re.fullmatch(r"manuscript/article\.md: the build did not finish within "
                         r"1\.5 s \(PUBBUILD_TIME_LIMIT\); it was at: (.+)", line)
    assert stage and stage[1] in ("read (pandoc) + bibliography", "filters + citeproc",
                                  "print HTML (pandoc, SVG math)", "PDF (WeasyPrint)")
    assert not out.exists()


@pytest.mark.slow
def test_a_full_disk_keeps_the_previous_outputs(tmp_path):
    import resource

    manuscript = project(tmp_path)
    out = tmp_path / "dist"
    assert build(manuscript, out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    manuscript.write_text(manuscript.read_text() + "\nOne more sentence.\n")

    def small_files():  # writes past 20 kB fail as on a full disk (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    result = build(manuscript, out, preexec=small_files, trace=False)  # strace too
    line = one_error_line(result)
    # Wherever the limit struck first (a font WeasyPrint unpacks, an output).
    assert "File too large" in line and line.endswith(
        "the previous outputs are unchanged")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
def test_a_real_full_disk_keeps_the_previous_outputs(tmp_path):
    """The output folder on a 256 KiB tmpfs, filled up after a first build:
    the next build runs out of space while writing its outputs."""
    import os
    import subprocess

    manuscript = project(tmp_path)
    out = tmp_path / "dist"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                              str(out)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"a tmpfs is needed (run as root): {mounted.stderr}"
    try:
        assert build(manuscript, out).returncode == 0
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        with open(out / ".filler", "wb") as filler:  # all but 8 KiB
            free = os.statvfs(out)
            filler.write(b"\0" * (free.f_bavail * free.f_frsize - 8192))
        manuscript.write_text(manuscript.read_text() + "\nOne more sentence.\n")
        line = one_error_line(build(manuscript, out))
        assert re.fullmatch(r"dist/paper\.\w+: cannot write: No space left on device; "
                            r"the previous outputs are unchanged", line), line
        (out / ".filler").unlink()
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    finally:
        subprocess.run(["umount", str(out)], check=True)


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_and_keeps_the_outputs(tmp_path):
    import signal
    import time

    paper = repeated_article(tmp_path / "paper.md", 10)  # about 15 s to build
    out = tmp_path / "dist"
    (tmp_path / "earlier").mkdir()  # a previous good build into the same folder
    assert build(project(tmp_path / "earlier"), out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    process = start_build(paper, out)
    # Mid-build: once pandoc, the first stage, has started (however slow
    # the machine), and before the build can have finished.
    deadline = time.monotonic() + 120
    while "pandoc" not in _session(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline, "pandoc never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "paper.md: interrupted; the previous outputs are unchanged"
    assert _session(process.pid) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
def test_a_huge_manuscript_ends_within_the_time_limit(tmp_path):
    """100 times the article: 3 MB of Markdown, which builds in about two
    minutes here (bench, issue 9's note). Under a 20 s limit it ends with
    one line naming the limit and the stage it reached; the previous
    outputs stay, and no pandoc or other child is left running."""
    import time

    huge = repeated_article(tmp_path / "huge.md", 100)
    out = tmp_path / "dist"
    assert build(project(tmp_path), out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    started = time.monotonic()
    process = start_build(huge, out, PUBBUILD_TIME_LIMIT="20")
    _, stderr = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    assert process.returncode == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("huge.md: the build did not finish within 20 s "
                               "(PUBBUILD_TIME_LIMIT); it was at: ")
    assert elapsed < 60  # the limit, and the time to stop the children
    assert _session(process.pid) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
def test_killed_mid_build_then_rebuilt(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "dist"
    command = [sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # inside the pipeline (the build takes about 3 s)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Whatever it reached: complete files or none, never half of one.
    for path in out.glob("article.*") if out.exists() else []:
        assert path.stat().st_size > 0
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "article.epub", "article.html", "article.pdf"]


@pytest.mark.slow
def test_builds_at_once_give_a_lone_builds_bytes(tmp_path):
    """Three builds started together into one folder, five times over, leave
    exactly the files of a build run alone, whose wall clock is five years
    off (libfaketime): neither the other builds nor the time a build
    happens to run at may change a byte."""
    import subprocess
    import sys

    def files(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    clock = reproduce.faketime("2031-06-15 08:30:00")
    assert clock, "libfaketime.so.1 is missing: pip install -r requirements.txt"
    alone = run_build("-q", "--out", str(tmp_path / "alone"), env=clock)
    assert alone.returncode == 0, alone.stderr
    expected = files(tmp_path / "alone")
    assert list(expected) == ["MANIFEST.json", "SHA256SUMS", "article.epub",
                              "article.html", "article.pdf"]
    for turn in range(5):
        out = tmp_path / f"together-{turn}"
        command = [sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)]
        builds = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE,
                                   text=True, env=child_env()) for _ in range(3)]
        for build_ in builds:
            _, stderr = build_.communicate(timeout=600)
            assert build_.returncode == 0, stderr
        got = files(out)
        assert list(got) == list(expected)  # no temporary or stray file
        for name in expected:
            assert got[name] == expected[name], f"round {turn}: {name} differs"


def _wrapped(cause: BaseException) -> RuntimeError:
    """`cause` as Python 3.11 wraps one raised in a dataclass's __set_name__
    while a module is imported: how a Ctrl-C mid-build once reached us."""
    try:
        raise RuntimeError("Error calling __set_name__ on 'Field' instance") from cause
    except RuntimeError as exc:
        return exc


def _dispatch_failing(monkeypatch, raised: BaseException) -> int:
    import argparse
    import sys
    import types

    from pubbuild import commands

    def run(args):
        raise raised

    monkeypatch.setitem(sys.modules, "pubbuild.commands.failing",
                        types.SimpleNamespace(run=run))
    return commands.dispatch(argparse.Namespace(
        run="failing", manuscript=Path("paper.md"), debug=False))


INTERRUPTED = "paper.md: interrupted; the previous outputs are unchanged"


@pytest.mark.parametrize("raised, status, line", [
    (KeyboardInterrupt(), 130, INTERRUPTED),
    (_wrapped(KeyboardInterrupt()), 130, INTERRUPTED),
    (_wrapped(FileNotFoundError(2, "No such file or directory", "nowhere.md")), 1,
     "nowhere.md: No such file or directory; the previous outputs are unchanged"),
])
def test_an_expected_failure_python_wrapped_is_still_one_line(
        monkeypatch, capsys, raised, status, line):
    assert _dispatch_failing(monkeypatch, raised) == status
    assert capsys.readouterr().err.strip() == line


def test_an_unexpected_failure_is_not_hidden(monkeypatch):
    with pytest.raises(RuntimeError, match="__set_name__"):
        _dispatch_failing(monkeypatch, _wrapped(ValueError("below a bug")))
