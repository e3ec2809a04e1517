"""What a journal profile asks of the package (pubbuild/submission.py,
pubbuild/wordref.py, `submit` and `check --profile`): the Word files' font,
size, spacing and line numbers; where the title page goes; the MECA
package; the anonymised manuscript (`anonymise:`, or `blind:`); and the
statements the journal requires, read as the title page reads them."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT, run_build
from pubbuild import pandoc, submission, wordref
from pubbuild.diagnostics import BuildError

APA = ROOT / "bib" / "apa.csl"


def profile_file(tmp_path: Path, text: str, name: str = "journal") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> submission.Profile:
    return submission.load_profile(str(profile_file(tmp_path, text)))


def paper(text: str) -> pf.Doc:
    return pf.convert_text(text, input_format="markdown-smart", standalone=True,
                           pandoc_path=pandoc.pandoc_path())


def statements(doc: pf.Doc, *names: str) -> dict[str, submission.Requirement]:
    profile = submission.Profile(ROOT / "journals" / "test.yaml",
                                 {"required-statements": list(names)})
    return {r.name: r for r in submission.check(profile, doc, APA)}


def styles_of(docx: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read("word/styles.xml").decode("utf-8")


# -- reading a profile ---------------------------------------------------------

def test_the_default_profile_documents_every_setting():
    text = (ROOT / "journals" / "default.yaml").read_text(encoding="utf-8")
    undocumented = [key for key in submission.KNOWN
                    if not re.search(rf"^#?\s*{re.escape(key)}:", text, re.M)]
    assert undocumented == []  # a user copying it would not know of these


def test_the_default_profile_asks_what_submissions_always_had():
    profile = submission.load_profile("default")
    assert profile.docx == {"font": "Times New Roman", "size": 12,
                            "spacing": "double", "line_numbers": True}
    assert profile.anonymised and profile.title_page == "separate"
    assert not profile.meca and profile.get("required-statements") == []


def test_a_profile_that_says_nothing_keeps_todays_package(tmp_path):
    profile = load(tmp_path, "name: Quiet\n")
    assert profile.docx == {"line_numbers": False}
    assert profile.anonymised and profile.title_page == "separate"
    assert not profile.meca


def test_anonymise_and_blind_are_one_setting(tmp_path):
    assert not load(tmp_path, "anonymise: false\n").anonymised
    assert not load(tmp_path, "blind: false\n").anonymised
    assert load(tmp_path, "blind: true\nanonymise: true\n").anonymised
    with pytest.raises(BuildError, match="anonymise: false and blind: true disagree"):
        load(tmp_path, "blind: true\nanonymise: false\n")


def test_line_numbers_at_the_top_level_still_number_the_word_files(tmp_path):
    assert load(tmp_path, "line-numbers: true\n").docx == {"line_numbers": True}
    assert load(tmp_path, "docx: {line-numbers: true}\n").docx == {
        "line_numbers": True}
    with pytest.raises(BuildError, match="line-numbers: false and the top-level "
                                         "line-numbers: true disagree"):
        load(tmp_path, "line-numbers: true\ndocx: {line-numbers: false}\n")


def test_one_and_a_half_spacing_is_read_as_yaml_writes_it(tmp_path):
    docx = load(tmp_path, "docx: {font: Arial, size: 11, spacing: 1.5}\n").docx
    assert docx == {"font": "Arial", "size": 11, "spacing": "1.5",
                    "line_numbers": False}


@pytest.mark.parametrize(("text", "message"), [
    ("docx: {colour: red}\n", "docx: has unknown settings: colour"),
    ("docx: {spacing: triple}\n", "docx: spacing: 'triple' is not one of double"),
    ("docx: {size: big}\n", "docx: size: 'big' is not a number"),
    ("docx: {size: 120}\n", "docx: size: 120 is not a font size in points"),
    ("docx: Times\n", "docx: is not a mapping"),
    ("title-page: last-page\n", "title-page: 'last-page' is not one of separate, "
                                "first-page, none"),
    ("required-statements: [funding, ethics]\n",
     "required-statements: unknown ethics .known: funding, acknowledgements"),
    ("required-statements: funding\n", "required-statements: is not a list"),
])
def test_a_wrong_value_is_named_with_what_is_allowed(tmp_path, text, message):
    with pytest.raises(BuildError, match=message) as raised:
        load(tmp_path, text)
    assert raised.value.file == tmp_path / "journal.yaml"


# -- required statements -------------------------------------------------------

STATED = """---
title: A paper
funding: The Example Foundation, grant 12.
conflict-of-interest: None declared.
authors-plain:
  - name: Ada Lovelace
    roles: [conceptualization, writing – original draft]
  - name: Charles Babbage
    roles: [software]
---

Text.

# Data availability statement

The data are in the repository.
"""


def test_statements_in_the_front_matter_or_a_section_are_present():
    found = statements(paper(STATED), "funding", "conflict-of-interest",
                       "data-availability", "author-contributions")
    assert {name: (r.measured, r.ok) for name, r in found.items()} == {
        "funding statement": ("present", True),
        "conflict of interest statement": ("present", True),
        "data availability statement": ("present", True),
        "author contributions statement": ("present", True),
    }


def test_a_missing_statement_fails_by_name():
    found = statements(paper(STATED), "code-availability", "acknowledgements")
    missing = found["code availability statement"]
    assert not missing.ok and missing.kind == "statement"
    assert missing.failure == "code availability statement missing (limit: required)"
    assert not found["acknowledgements statement"].ok


def test_an_empty_statement_is_missing():
    doc = paper("---\ntitle: A paper\nfunding: ''\n---\n\nText.\n")
    assert not statements(doc, "funding")["funding statement"].ok


def test_competing_interests_is_the_conflict_of_interest_statement():
    doc = paper("---\ntitle: A paper\ncompeting-interests: None.\n---\n\nText.\n")
    assert statements(doc, "conflict-of-interest")[
        "conflict of interest statement"].ok


def test_author_contributions_need_roles_on_every_author():
    some = paper("---\nauthors-plain:\n  - name: Ada Lovelace\n    roles: [software]\n"
                 "  - name: Charles Babbage\n---\n\nText.\n")
    found = statements(some, "author-contributions")["author contributions statement"]
    assert (found.ok, found.measured) == (False, "missing for Charles Babbage")
    none = paper("---\nauthors-plain:\n  - name: Ada Lovelace\n---\n\nText.\n")
    assert not statements(none, "author-contributions")[
        "author contributions statement"].ok


def test_no_statement_is_checked_unless_the_profile_asks():
    assert statements(paper(STATED)) == {}


# -- the Word reference document -------------------------------------------------

def test_the_default_reference_document_is_unchanged_by_the_parameters():
    assert wordref.reference_docx(True) == wordref.reference_docx(
        True, font="Times New Roman", size=12, spacing="double")


def test_font_size_and_spacing_reach_the_styles():
    styles = styles_of(wordref.reference_docx(False, font="Arial", size=11,
                                              spacing="1.5"))
    assert 'w:ascii="Arial"' in styles and "Times New Roman" not in styles
    defaults = styles.split("</w:docDefaults>")[0]
    assert '<w:sz w:val="22" />' in defaults  # 11 pt body text
    assert 'w:line="360"' in defaults  # one and a half lines
    heading = re.search(r'w:styleId="Heading1">.*?</w:style>', styles, re.S).group(0)
    assert '<w:sz w:val="26" />' in heading  # two points above the body


# -- the command line (slow) ----------------------------------------------------

@pytest.mark.slow
def test_a_missing_required_statement_is_reported_and_refused(tmp_path):
    profile = profile_file(tmp_path, "name: Open data journal\n"
                           "required-statements: [data-availability]\n", "opendata")
    checked = run_build("check", "--profile", str(profile))
    assert checked.returncode == 1
    assert "FAIL  data availability statement: missing (limit: required)" in (
        checked.stdout)
    assert ("Missing statements the journal requires: data availability statement"
            in checked.stdout)
    assert re.search(r"article\.md: fails 'opendata': data availability statement "
                     r"missing", checked.stderr)
    out = tmp_path / "out"
    refused = run_build("submit", "--profile", str(profile), "--out", str(out))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert re.match(r"\S*manuscript/article\.md: fails the journal profile "
                    r"'opendata': data availability statement missing", last)
    assert not out.exists()


@pytest.mark.slow
def test_a_profile_shapes_the_package(tmp_path):
    profile = profile_file(tmp_path, "name: Single-blind journal\nanonymise: false\n"
                           "title-page: first-page\nmeca: true\n"
                           "docx: {font: Arial, size: 11, spacing: single, "
                           "line-numbers: false}\n")
    out = tmp_path / "out"
    result = run_build("submit", "-q", "--profile", str(profile), "--out", str(out))
    assert result.returncode == 0, result.stderr
    folder = out / "submission"
    names = {p.name for p in folder.iterdir()}
    assert {"article.pdf", "article.docx", "article.jats.xml"} <= names
    # Single-blind, title page on the manuscript's first page: neither file.
    assert not names & {"manuscript-anonymous.pdf", "manuscript-anonymous.docx",
                        "title-page.pdf", "title-page.docx"}
    assert (out / "submission.meca").is_file()  # without --meca
    with zipfile.ZipFile(folder / "article.docx") as docx:
        styles = docx.read("word/styles.xml").decode()
        document = docx.read("word/document.xml").decode()
    assert 'w:ascii="Arial"' in styles and "Times New Roman" not in styles
    assert '<w:sz w:val="22" />' in styles.split("</w:docDefaults>")[0]
    assert 'w:line="240"' in styles.split("</w:docDefaults>")[0]
    assert "<w:lnNumType" not in document
    # The title page's entries lead the manuscript: authors before the text.
    assert document.index("Author notes") < document.index("Theoretical Construct")
