"""`build.py batch`: a journal volume built at once, each paper into its folder.

Real command lines in a child process, on copies of the test manuscripts
(each with its own bibliography) in a temporary volume folder; the HTML
alone where a test needs no other format.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, child_env

pytestmark = pytest.mark.slow  # real builds, in child processes

PAPERS = ("joss", "quarto", "second")
TITLES = {"joss": "Tidewright", "quarto": "Lichen Cover on Urban Gravestones",
          "second": "Clocks, Order and Typesetting"}


def batch(*args: str | Path) -> subprocess.CompletedProcess:
    """`python build.py batch ARGS`, as a user runs it from the project."""
    return subprocess.run([sys.executable, "build.py", "batch", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True,
                          env=child_env(), timeout=300)


def volume(folder: Path, *papers: str) -> Path:
    """A volume folder: a copy of each test manuscript's folder in it."""
    for name in papers:
        shutil.copytree(ROOT / "tests" / "manuscripts" / name, folder / name)
    return folder


def rows(stdout: str) -> dict[str, list[str]]:
    """The summary table's rows (result, time, output or error), by the
    manuscript's last path part; its columns are two spaces apart or more."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["manuscript", "result", "time", "output", "or", "error"]
    table = {}
    for line in lines[1:-1]:
        label, *rest = re.split(r"\s{2,}", line, maxsplit=3)
        table[Path(label).name] = rest
    return table


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """(volume, out, result): three papers' HTML, by one batch."""
    tmp = tmp_path_factory.mktemp("batch")
    vol = volume(tmp / "vol", *PAPERS)
    out = tmp / "out"
    return vol, out, batch(vol, "--format", "html", "--out", out)


def test_a_volume_builds_each_paper_into_its_folder_as_a_single_build_does(built):
    vol, out, result = built
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    # Each paper in OUT/<its folder's name>/, named after its manuscript.
    assert sorted(p.name for p in out.iterdir()) == list(PAPERS)
    for name in PAPERS:
        stem = "index" if name == "quarto" else "paper"
        html = (out / name / f"{stem}.html").read_text(encoding="utf-8")
        assert TITLES[name] in html
    # One progress line per paper as it ends, the job count said first.
    progress = result.stderr.splitlines()
    assert progress[0].startswith("batch: 3 manuscripts, ")
    assert len(progress) == 4
    assert sorted(Path(line.split()[2]).name for line in progress[1:]) == list(PAPERS)
    assert [line.split()[:2] for line in progress[1:]] == [
        ["[1/3]", "built"], ["[2/3]", "built"], ["[3/3]", "built"]]
    # The summary: a row per paper in argument order, then the totals.
    table = rows(result.stdout)
    assert list(table) == list(PAPERS)
    assert all(row[0] == "built" for row in table.values())
    assert result.stdout.splitlines()[-1].startswith(
        "3 manuscripts: 3 built, 0 up to date, 0 failed in ")
    # A paper built alone, with the same options, gives the same bytes: a
    # volume's build is no different from an author's.
    # Beside the batch's: SHA256SUMS names the sources relative to it.
    single = out.parent / "alone" / "joss"
    alone = subprocess.run(
        [sys.executable, "build.py", "--manuscript", str(vol / "joss" / "paper.md"),
         "--out", str(single), "html"], cwd=ROOT, capture_output=True, text=True,
        env=child_env(), timeout=300)
    assert alone.returncode == 0, alone.stderr
    files = sorted(p.name for p in (out / "joss").iterdir())
    assert files == ["MANIFEST.json", "SHA256SUMS", "paper.html"]
    assert files == sorted(p.name for p in single.iterdir())
    for name in files:
        assert (out / "joss" / name).read_bytes() == (single / name).read_bytes(), name


def test_a_second_run_finds_every_paper_up_to_date_and_touches_nothing(built):
    vol, out, first = built
    assert first.returncode == 0, first.stderr
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = batch(vol, "--format", "html", "--out", out)
    assert again.returncode == 0, again.stderr
    assert [row[0] for row in rows(again.stdout).values()] == ["up to date"] * 3
    assert all(" up to date  " in line for line in again.stderr.splitlines()[1:])
    assert again.stdout.splitlines()[-1].startswith(
        "3 manuscripts: 0 built, 3 up to date, 0 failed in ")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_a_broken_paper_fails_alone_with_its_one_line(tmp_path):
    vol = volume(tmp_path / "vol", "joss", "second")
    bib = vol / "second" / "refs.bib"
    unterminated = "\n@book{broken,\n  title = {Oops\n"
    bib.write_text(bib.read_text(encoding="utf-8") + unterminated, encoding="utf-8")
    out = tmp_path / "out"
    result = batch(vol, "--format", "html", "--out", out, "--jobs", "2")
    assert result.returncode == 1
    no_traceback(result)
    # The other paper is built all the same.
    assert (out / "joss" / "paper.html").is_file()
    assert not (out / "second" / "paper.html").exists()
    # Its row says failed, with the child's one line: file:line, what.
    table = rows(result.stdout)
    assert table["joss"][0] == "built"
    assert table["second"][0] == "failed"
    error = table["second"][-1]
    assert "refs.bib:" in error and "malformed" in error, error
    assert error.split("refs.bib:")[1].split(":")[0].isdigit()  # the line
    # The progress line says it too, the moment it fails.
    failed = [line for line in result.stderr.splitlines() if " FAILED " in line]
    assert len(failed) == 1 and failed[0].endswith(error)
    assert "1 failed" in result.stdout.splitlines()[-1]
    # -q: only the failure and the totals.
    quiet = batch(vol, "--format", "html", "--out", out, "-q")
    assert quiet.returncode == 1
    [line] = quiet.stderr.splitlines()
    assert " FAILED " in line and line.endswith(error)
    assert quiet.stdout.splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("2 manuscripts: 0 built, 1 up to date, 1 failed")


def test_every_default_format_for_two_papers_one_at_a_time(tmp_path):
    vol = volume(tmp_path / "vol", "joss", "second")
    out = tmp_path / "out"
    result = batch(vol / "second", vol / "joss" / "paper.md", "--out", out,
                   "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].endswith("1 job at a time (--jobs)")
    assert result.stdout.splitlines()[-1].endswith("(1 job)")
    # Rows in the order the arguments named them, not the order they ended.
    assert list(rows(result.stdout)) == ["second", "paper.md"]
    for name in ("joss", "second"):
        folder = out / name
        assert sorted(p.name for p in folder.iterdir()) == [
            "MANIFEST.json", "SHA256SUMS", "paper.epub", "paper.html", "paper.pdf"]
        pdf = PdfReader(folder / "paper.pdf")
        assert TITLES[name] in pdf.pages[0].extract_text()
        with zipfile.ZipFile(folder / "paper.epub") as epub:
            assert epub.read("mimetype") == b"application/epub+zip"


def plan(*args: str | Path) -> list[dict]:
    result = batch(*args, "--plan")
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    lines = result.stdout.splitlines()
    return [json.loads(line) for line in lines]


def test_the_plan_keys_change_with_a_papers_files_and_only_its_own(tmp_path):
    vol = volume(tmp_path / "vol", *PAPERS)
    out = tmp_path / "out"
    first = plan(vol, "--out", out, "--format", "html")
    assert [Path(job["manuscript"]).parent.name for job in first] == list(PAPERS)
    assert [Path(job["out"]).name for job in first] == list(PAPERS)
    assert all(len(job["key"]) == 64 and int(job["key"], 16) >= 0 for job in first)
    assert len({job["key"] for job in first}) == 3
    # Nothing built, nothing changed: the same keys.
    assert not out.exists()
    assert plan(vol, "--out", out, "--format", "html") == first
    # Another option, another output: other keys.
    assert all(a["key"] != b["key"] for a, b in
               zip(first, plan(vol, "--out", out, "--format", "pdf"), strict=True))
    # An edit to one paper's bibliography changes its key alone.
    bib = vol / "second" / "refs.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "\n% edited\n", encoding="utf-8")
    after = plan(vol, "--out", out, "--format", "html")
    assert [a["key"] == b["key"] for a, b in zip(first, after, strict=True)] == [
        True, True, False]
    # The command is what builds the job, as a user would type it here.
    command = first[0]["command"]
    assert command[:2] == ["python", "build.py"] and command[-1] == "html"
    built = subprocess.run([sys.executable, *command[1:]], cwd=ROOT,
                           capture_output=True, text=True, env=child_env(),
                           timeout=300)
    assert built.returncode == 0, built.stderr
    assert (out / "joss" / "paper.html").is_file()


def test_a_quoted_glob_is_expanded_by_the_command(tmp_path):
    vol = volume(tmp_path / "vol", *PAPERS)
    # Only the folders whose manuscript is a paper.md (quarto's is index.md).
    jobs = plan(str(vol / "*" / "paper.md"), "--out", tmp_path / "out")
    assert [Path(job["manuscript"]).parent.name for job in jobs] == ["joss", "second"]
    # ** reaches every depth; the same paper named twice is one job.
    jobs = plan(str(tmp_path / "**" / "*.md"), vol / "joss", "--out", tmp_path / "out")
    assert [Path(job["manuscript"]).parent.name for job in jobs] == list(PAPERS)


def test_an_argument_naming_nothing_stops_everything_with_one_line(tmp_path):
    vol = volume(tmp_path / "vol", "joss")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    for wrong in (tmp_path / "nothing-*", tmp_path / "missing", tmp_path / "empty"):
        result = batch(vol, wrong, "--out", out, "--format", "html")
        assert result.returncode == 1
        no_traceback(result)
        assert result.stderr.splitlines() == [result.stderr.strip()]
        assert result.stderr.startswith(f"error: {wrong}: ")
        assert not out.exists()  # not even the good paper was built


def test_folders_of_the_same_name_get_distinct_output_folders(tmp_path):
    for issue in ("issue1", "issue2"):
        volume(tmp_path / issue, "joss")
    out = tmp_path / "out"
    result = batch(tmp_path / "issue1", tmp_path / "issue2", "--out", out,
                   "--format", "html")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["issue1-joss", "issue2-joss"]
    for name in ("issue1-joss", "issue2-joss"):
        assert TITLES["joss"] in (out / name / "paper.html").read_text(encoding="utf-8")
