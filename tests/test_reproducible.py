"""Reproducible builds: same bytes whatever the environment, proven by
`verify`; the PDF carries its sources and `rebuild` makes it again."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build
from pubbuild import reproduce


def faketime(clock: str) -> dict[str, str]:
    """The variables that start a build's wall clock at `clock`."""
    env = reproduce.faketime(clock)
    assert env, "libfaketime.so.1 is missing: pip install -r requirements.txt"
    return env


def build(out: Path, *args: str, env: dict | None = None, cwd: Path | None = None,
          clock: str | None = None):
    result = run_build("-q", *args, "--out", str(out), cwd=cwd,
                       env={**(env or {}), **(faketime(clock) if clock else {})})
    assert result.returncode == 0, result.stderr
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.slow
def test_verify_passes_on_the_article():
    result = run_build("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    # The two builds really differed: clock, zone, locale, user, place.
    assert "clock 2031-06-15 08:30:00" in result.stdout
    assert "TZ=Pacific/Kiritimati LANG=de_DE.UTF-8 USER=bob" in result.stdout
    for name in ("article.pdf", "article.html", "article.epub", "MANIFEST.json",
                 "SHA256SUMS"):
        assert f"{name} " in result.stdout
    assert "All 5 files are byte-identical." in result.stdout


@pytest.mark.slow
def test_tz_locale_and_clock_do_not_change_a_byte(tmp_path):
    first = build(tmp_path / "a", env={"TZ": "UTC", "LANG": "C.UTF-8"})
    second = build(tmp_path / "b", env={"TZ": "America/St_Johns", "LANG": "fr_FR.UTF-8",
                                        "LC_ALL": "fr_FR.UTF-8", "USER": "someone"},
                   clock="2029-02-28 23:59:59", cwd=tmp_path)
    assert list(first) == ["MANIFEST.json", "SHA256SUMS", "article.epub",
                           "article.html", "article.pdf"]
    assert first == second


@pytest.mark.slow
def test_the_build_date_is_the_commit_date_everywhere(tmp_path):
    files = build(tmp_path)
    manifest = json.loads(files["MANIFEST.json"])
    date = manifest["source"]["date"]
    committed = subprocess.run(
        ["git", "log", "-1", "--format=%ct", "--", "manuscript", "bib"], cwd=ROOT,
        capture_output=True, text=True).stdout.strip()
    if committed:  # a checkout with history (CI clones one)
        expected = dt.datetime.fromtimestamp(int(committed), dt.UTC)
        assert date == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    pdf = PdfReader(tmp_path / "article.pdf")
    stamp = "D:" + date.replace("-", "").replace(":", "").replace("T", "")
    assert pdf.metadata["/CreationDate"] == stamp and pdf.metadata["/ModDate"] == stamp
    assert pdf.trailer["/ID"][0] == pdf.trailer["/ID"][1]  # from the content
    assert f'<meta name="dcterms.modified" content="{date}">' in files[
        "article.html"].decode()
    with zipfile.ZipFile(tmp_path / "article.epub") as epub:
        first = epub.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        opf = epub.read("EPUB/content.opf").decode()
        assert f'<meta property="dcterms:modified">{date}</meta>' in opf
        # Zip times hold even seconds only: the same entry time for every member.
        assert len({info.date_time for info in epub.infolist()}) == 1


@pytest.mark.slow
def test_manifest_and_sha256sums(tmp_path):
    files = build(tmp_path)
    manifest = json.loads(files["MANIFEST.json"])
    assert manifest["manuscript"] == "manuscript/article.md"
    assert sorted(manifest["sources"]) == ["bib/apa.csl", "bib/references.bib",
                                           "manuscript/article.md"]
    pipeline = manifest["pipeline"]
    for name in ("pubbuild/pipeline.py", "requirements.txt", "templates/print.html",
                 "styles/print.css", "fonts/CharisSIL-Regular.ttf",
                 "filters/quotes.py", "pubbuild/pdf.py"):
        assert name in pipeline, name
    # The command line makes no byte of an output: a --help edit is not a
    # new pipeline.
    assert "build.py" not in pipeline
    assert not any(name.startswith("pubbuild/commands/") for name in pipeline)
    assert manifest["tools"]["pandoc"] == "3.9"
    assert manifest["tools"]["weasyprint"] == "70.0"
    assert sorted(manifest["outputs"]) == ["article.epub", "article.html",
                                           "article.pdf"]
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    checked = check.stdout.count(": OK")
    assert checked == 3 + 1 + 3 + len(pipeline)  # outputs, manifest, inputs


@pytest.mark.slow
def test_the_pdf_carries_its_sources_and_rebuilds_identically(tmp_path):
    build(tmp_path, "pdf")
    pdf = PdfReader(tmp_path / "article.pdf")
    carried = pdf.attachments
    assert sorted(carried) == ["bib/apa.csl", "bib/references.bib", "manifest.json",
                               "manuscript/article.md"]
    assert carried["manuscript/article.md"][0] == (
        ROOT / "manuscript" / "article.md").read_bytes()
    embedded = json.loads(carried["manifest.json"][0])
    assert "outputs" not in embedded  # it cannot list the PDF it is inside
    relationships = sorted(str(ref.get_object()["/AFRelationship"])
                           for ref in pdf.trailer["/Root"]["/AF"])
    assert relationships == ["/Source", "/Source", "/Source", "/Supplement"]
    result = run_build("rebuild", str(tmp_path / "article.pdf"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The rebuild is byte-identical." in result.stdout


@pytest.mark.slow
def test_rebuild_names_what_differs(tmp_path):
    build(tmp_path, "pdf")
    project = tmp_path / "project"
    reproduce.copy_project(project)
    css = project / "styles" / "print.css"
    css.write_text(css.read_text().replace("font-size: 10.5pt;", "font-size: 10.6pt;"))
    result = run_build("rebuild", str(tmp_path / "article.pdf"),
                       script=project / "build.py")
    assert result.returncode == 1
    assert "The rebuild differs: first difference at byte" in result.stdout
    assert "pipeline: styles/print.css has changed" in result.stdout


@pytest.mark.slow
def test_one_changed_word_changes_the_hashes_it_should(tmp_path):
    project = tmp_path / "paper"
    for name in ("manuscript/article.md", "bib/references.bib", "bib/apa.csl"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}  # outside git: a fixed date
    manuscript = project / "manuscript" / "article.md"
    before = build(tmp_path / "a", "--manuscript", str(manuscript), env=env)
    text = manuscript.read_text(encoding="utf-8")
    manuscript.write_text(text.replace("hectic diplomacy", "busy diplomacy", 1),
                          encoding="utf-8")
    after = build(tmp_path / "b", "--manuscript", str(manuscript), env=env)
    old, new = (json.loads(files["MANIFEST.json"]) for files in (before, after))
    assert old["sources"]["manuscript/article.md"] != new["sources"][
        "manuscript/article.md"]
    for name in ("bib/references.bib", "bib/apa.csl"):
        assert old["sources"][name] == new["sources"][name]
    assert old["pipeline"] == new["pipeline"] and old["tools"] == new["tools"]
    assert old["source"] == new["source"] == {"commit": None,
                                              "date": "2023-11-14T22:13:20Z"}
    for name in ("article.pdf", "article.html", "article.epub"):
        assert old["outputs"][name] != new["outputs"][name]
        assert before[name] != after[name]


@pytest.mark.slow
def test_an_unstable_output_makes_verify_fail(tmp_path):
    project = tmp_path / "unstable"
    reproduce.copy_project(project)
    formats = project / "pubbuild" / "formats.py"
    # A writer that leaks the wall clock, as an unpinned tool might.
    formats.write_text(formats.read_text() + (
        "\n\n_html = html\n\n\ndef html(doc, job):\n    import time\n"
        "    return _html(doc, job) + f'<!-- {time.time_ns()} -->'.encode()\n"))
    result = run_build("verify", "html", script=project / "build.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "article.html" in result.stdout and "DIFFERENT" in result.stdout
    lines = [line.strip() for line in
             result.stdout.split("Not reproducible:")[1].strip().splitlines()]
    html = next(line for line in lines if line.startswith("article.html:"))
    assert html.startswith("article.html: first difference at byte ")
    assert ", line " in html
    assert "Traceback" not in result.stderr


def test_where_different_names_zip_members_and_pdf_objects():
    import io

    def zipped(content: bytes) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("mimetype", b"application/epub+zip")
            archive.writestr("EPUB/content.opf", content)
        return buffer.getvalue()

    assert reproduce.where_different("x.epub", zipped(b"a"), zipped(b"b")) == (
        "member EPUB/content.opf differs in content")
    pdf_a = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n2 0 obj\n(2026)\nendobj\n"
    pdf_b = pdf_a.replace(b"(2026)", b"(2031)")
    assert reproduce.where_different("x.pdf", pdf_a, pdf_b) == (
        f"first difference at byte {pdf_a.index(b'2026') + 2}, in object 2")
