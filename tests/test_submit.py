"""Journal submission: the profile check, the package, the anonymised set."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import StreamObject

from conftest import run_build
from outputs import html_text
from pubbuild import pandoc, submission

NEEDLES = ["Waseem", "Ishaque", "Mudassir", "Mukhtar", "waseemishaque91@gmail.com"]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("submit")
    result = run_build("submit", "--meca", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def strict_profile(tmp_path: Path) -> Path:
    profile = tmp_path / "strict.yaml"
    profile.write_text("name: A strict journal\nwords-max: 3000\n", encoding="utf-8")
    return profile


@pytest.mark.slow
def test_the_article_passes_the_default_profile():
    result = run_build("check", "--profile", "default")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Journal profile 'default'")[1]
    assert "4 of 4 requirements met" in section
    words = int(re.search(r"ok    main text words: ([\d,]+)", section)
                .group(1).replace(",", ""))
    assert 4000 < words < 5000  # body text only: no abstract, references, citations
    assert "ok    abstract words: 177 (limit: at most 250)" in section
    assert "ok    keywords: 6 (limit: 3 to 8)" in section


@pytest.mark.slow
def test_a_lower_word_limit_fails_clearly(tmp_path):
    profile = strict_profile(tmp_path)
    result = run_build("check", "--profile", str(profile))
    assert result.returncode == 1
    assert "FAIL  main text words: 4,5" in result.stdout
    # file: message, the file as seen from where the command ran
    assert re.match(r"\S*manuscript/article\.md: fails 'strict': main text words 4,5",
                    result.stderr.strip())
    out = tmp_path / "out"
    refused = run_build("submit", "--profile", str(profile), "--out", str(out))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert re.match(r"\S*manuscript/article\.md: fails the journal profile 'strict': "
                    r"main text words 4,5", lines[-1])
    assert lines[-1].endswith("(limit: at most 3,000) (--force packages it anyway)")
    assert not out.exists()
    forced = run_build("submit", "--profile", str(profile), "--force",
                       "--out", str(out))
    assert forced.returncode == 0, forced.stderr
    recorded = json.loads((out / "submission" / "MANIFEST.json").read_text())
    assert recorded["submission"]["forced"] is True
    assert recorded["submission"]["requirements"][0]["ok"] is False


@pytest.mark.slow
def test_the_package(package):
    folder = package / "submission"
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == ["MANIFEST.json", "article.docx", "article.jats.xml", "article.pdf",
                     "manuscript-anonymous.docx", "manuscript-anonymous.pdf",
                     "source/bib/apa.csl", "source/bib/references.bib",
                     "source/manuscript/article.md", "title-page.docx",
                     "title-page.pdf"]
    with zipfile.ZipFile(package / "submission.zip") as archive:
        assert sorted(archive.namelist()) == names
        for name in names:
            assert archive.read(name) == (folder / name).read_bytes()
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["tools"]["pandoc"] == "3.9"
    assert manifest["submission"]["self-citations-masked"] == ["ishaque2020",
                                                               "ullah2017"]


def every_text(name: str, data: bytes) -> str:
    """All a program could read from a file: for a PDF its text, its Info,
    every stream decompressed; for a Word file every member."""
    texts = [name, data.decode("latin-1")]
    if name.endswith(".pdf"):
        reader = PdfReader(io.BytesIO(data))
        texts += [page.extract_text() for page in reader.pages]
        texts.append(str(reader.metadata))
        for number in range(1, len(reader.xref_objStm) + 4096):
            try:
                obj = reader.get_object(number)
            except Exception:  # not every number is an object
                continue
            if isinstance(obj, StreamObject):
                texts.append(obj.get_data().decode("latin-1"))
    if name.endswith(".docx"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            texts += [archive.read(m).decode("utf-8", "replace")
                      for m in archive.namelist()]
    return "\n".join(texts)


@pytest.mark.slow
def test_the_anonymised_set_names_no_author(package):
    folder = package / "submission"
    for name in ("manuscript-anonymous.pdf", "manuscript-anonymous.docx"):
        text = every_text(name, (folder / name).read_bytes())
        for needle in NEEDLES:
            assert needle.lower() not in text.lower(), f"{name} contains {needle}"
    # The same reading finds them in the named manuscript: the scan can fail.
    named = every_text("article.pdf", (folder / "article.pdf").read_bytes())
    assert "Ishaque" in named and "waseemishaque91@gmail.com" in named
    assert submission.scan({"article.pdf": (folder / "article.pdf").read_bytes()},
                           NEEDLES)


@pytest.mark.slow
def test_self_citations_are_masked(package):
    pdf = PdfReader(package / "submission" / "manuscript-anonymous.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "(Author, 2020, p. 184)" in text
    assert "(Author, 2017" in text
    assert text.count("Details removed for peer review.") == 2
    assert "Author. (2020). Details removed for peer review." in text
    assert pdf.metadata.get("/Author") is None


@pytest.mark.slow
def test_docx_read_back_has_the_headings_citations_and_references(package):
    out, _ = pandoc.run([str(package / "submission" / "article.docx"), "-t", "html",
                         "--wrap=none"])
    headings = re.findall(r"<h\d[^>]*>(.*?)</h\d>", out)
    assert len(headings) == 20  # the 19 of the article and References
    text = html_text(out)
    report = run_build("check")
    rendered = re.findall(r"-> [\w, ]+  (\(.*\))$", report.stdout, re.M)
    assert len(rendered) == 38
    for citation in set(rendered):
        assert text.count(citation) >= rendered.count(citation), citation
    references = out.split(">References</h")[1]
    assert len(re.findall(r"<p>", references)) == 31


@pytest.mark.slow
def test_docx_is_set_for_submission(package):
    with zipfile.ZipFile(package / "submission" / "article.docx") as docx:
        styles = docx.read("word/styles.xml").decode()
        document = docx.read("word/document.xml").decode()
        footer = docx.read("word/footer1.xml").decode()
    assert 'w:ascii="Times New Roman"' in styles and '<w:sz w:val="24"' in styles
    assert 'w:line="480"' in styles  # double spacing
    assert " PAGE " in footer  # page numbers
    assert "<w:lnNumType" in document  # line numbers, as the profile asks


@pytest.mark.slow
def test_title_page(package):
    text = " ".join(PdfReader(package / "submission" / "title-page.pdf")
                    .pages[0].extract_text().split())
    for expected in ("Breaking the Stalemate", "Waseem Ishaque", "Mudassir Mukhtar",
                     "Assistant Professor", "HoD/Associate Professor",
                     "Department of International Relations, NUML, Islamabad",
                     "waseemishaque91@gmail.com", "(corresponding author)"):
        assert expected in text, expected
    assert "ABSTRACT" not in text


@pytest.mark.slow
def test_jats_validates(package):
    xml = (package / "submission" / "article.jats.xml").read_bytes()
    assert submission.validate_jats(xml) == []
    assert b"Journal Publishing DTD v1.3" in xml
    assert xml.count(b"<ref ") == 31
    broken = xml.replace(b"<front>", b"<front><nonsense/>", 1)
    assert submission.validate_jats(broken)  # the check can fail


@pytest.mark.slow
def test_the_zip_is_the_same_on_every_build(package, tmp_path):
    again = run_build("submit", "-q", "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "submission.zip").read_bytes() == (
        package / "submission.zip").read_bytes()


@pytest.mark.slow
def test_the_meca_package_carries_the_submission(package):
    """`--meca`: what a preprint server or manuscript system receives, with
    the JATS named as the article's metadata and every file listed."""
    from pubbuild import meca

    data = (package / "submission.meca").read_bytes()
    assert meca.validate(data) == []
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = set(bundle.namelist())
        manifest = bundle.read("manifest.xml").decode("utf-8")
    assert {"manifest.xml", "article.jats.xml", "article.pdf", "article.docx",
            "title-page.pdf", "source/manuscript/article.md"} <= names
    assert 'item-type="article-metadata"' in manifest
    assert 'xlink:href="article.jats.xml"' in manifest.split(
        'item-type="article-metadata"')[1].split("</item>")[0]
