"""Journal submission checks (pubbuild/submission.py), in-process: reading a
journal profile, measuring a small paper against it (what counts as a word
of the main text), validating JATS offline against the vendored DTDs, and
the leak scan that finds an author's name in any form of a file."""

from __future__ import annotations

import io
import zipfile

import panflute as pf
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from conftest import ROOT
from pubbuild import pandoc, submission
from pubbuild.diagnostics import BuildError

APA = ROOT / "bib" / "apa.csl"

# Counted: "One two three" (3), the list's "four five" and "six" (3), the
# Discussion's "Seven eight nine" (3); not counted: headings, the citation,
# the footnote, the captions, the table, the code, the reference list.
PAPER = """\
---
title: A short title for a test paper
abstract: |
  Five words in this abstract.

  And four more here.
keywords: [diplomacy, Korea]
---

# Introduction

One two three [@vu2021].^[A footnote with many words in it.]

- four five
- six

![A caption with several words](figure.png)

| header | cells |
|--------|-------|
| table  | words |

Table: A table caption with words.

```
code is not text
```

# Discussion

Seven eight nine.

::: {#refs}
Vu, K. (2021). A reference entry with words.
:::
"""
MAIN_TEXT_WORDS = 9
ABSTRACT_WORDS = 9
TITLE_WORDS = 7


@pytest.fixture(scope="module")
def doc() -> pf.Doc:
    return pf.convert_text(PAPER, input_format="markdown-smart", standalone=True,
                           pandoc_path=pandoc.pandoc_path())


def profile(**settings) -> submission.Profile:
    return submission.Profile(ROOT / "journals" / "test.yaml", settings)


def by_name(requirements) -> dict[str, submission.Requirement]:
    return {r.name: r for r in requirements}


# -- profiles --------------------------------------------------------------------

def test_the_default_profile_is_loaded_by_default():
    default = submission.load_profile(None)
    assert default.path == ROOT / "journals" / "default.yaml"
    assert submission.load_profile("default").settings == default.settings
    assert set(default.settings) <= submission.KNOWN
    assert default.get("words-max") > 0 and default.get("no such thing", 7) == 7


def test_a_profile_is_loaded_from_a_path(tmp_path):
    path = tmp_path / "strict.yml"
    path.write_text("name: A strict journal\nwords-max: 3000\n", encoding="utf-8")
    loaded = submission.load_profile(str(path))
    assert loaded.path == path
    assert loaded.settings == {"name": "A strict journal", "words-max": 3000}


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(BuildError, match=r"no journal profile 'nature'.*default"):
        submission.load_profile("nature")


def test_an_unknown_setting_is_named(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("word-max: 3000\nname: Typo\n", encoding="utf-8")
    with pytest.raises(BuildError, match="unknown settings: word-max") as caught:
        submission.load_profile(str(path))
    assert caught.value.file == path


def test_a_profile_that_is_not_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: Broken\nwords-max: [3000\n", encoding="utf-8")
    with pytest.raises(BuildError, match="not valid YAML") as caught:
        submission.load_profile(str(path))
    assert caught.value.file == path and caught.value.line >= 2


# -- measuring -------------------------------------------------------------------

def test_words_are_runs_holding_a_letter_or_a_digit():
    assert submission.words("One, two — three 4 … – five-six") == 5
    assert submission.words("") == 0


def test_the_main_text_leaves_out_what_journals_do_not_count(doc):
    assert submission.main_text_words(doc) == MAIN_TEXT_WORDS


def test_the_default_profile_measures_the_paper(doc):
    found = by_name(submission.check(submission.load_profile(None), doc, APA))
    assert found["main text words"].measured == str(MAIN_TEXT_WORDS)
    assert found["main text words"].ok
    assert found["abstract words"].measured == str(ABSTRACT_WORDS)
    assert found["title words"].measured == str(TITLE_WORDS)
    keywords = found["keywords"]
    assert keywords.measured == "2" and keywords.limit == "3 to 8"
    assert not keywords.ok  # the default asks for at least 3


def test_a_failed_requirement_reports_what_was_measured_and_the_limit(doc):
    [words] = submission.check(profile(**{"words-max": 5}), doc, APA)
    assert not words.ok
    assert (words.measured, words.limit) == (str(MAIN_TEXT_WORDS), "at most 5")
    assert str(words) == (f"  FAIL  main text words: {MAIN_TEXT_WORDS} "
                          "(limit: at most 5)")
    assert words.failure == f"main text words {MAIN_TEXT_WORDS} (limit: at most 5)"


def test_limits_are_inclusive_and_printed_with_thousands(doc):
    found = by_name(submission.check(profile(**{
        "words-max": MAIN_TEXT_WORDS, "abstract-words-max": ABSTRACT_WORDS - 1,
        "title-words-max": 1000, "keywords-min": 2}), doc, APA))
    assert found["main text words"].ok
    assert not found["abstract words"].ok
    assert found["title words"].limit == "at most 1,000"
    assert found["keywords"].ok and found["keywords"].limit == "at least 2"


def test_only_the_stated_requirements_are_checked(doc):
    assert submission.check(profile(name="Lenient"), doc, APA) == []


def test_required_sections_name_the_missing_ones(doc):
    [present] = submission.check(profile(**{
        "required-sections": ["introduction", "Discussion"]}), doc, APA)
    assert present.ok and present.measured == "all present"
    [missing] = submission.check(profile(**{
        "required-sections": ["Introduction", "Methods", "Results"]}), doc, APA)
    assert not missing.ok
    assert missing.measured == "missing Methods, Results"
    assert missing.limit == "Introduction, Methods, Results"


def test_the_reference_style_is_compared_by_name(doc):
    [same] = submission.check(profile(csl="apa"), doc, APA)
    assert same.ok and same.measured == "apa"
    [same_file] = submission.check(profile(csl="styles/apa.csl"), doc, APA)
    assert same_file.ok
    [other] = submission.check(profile(csl="chicago-author-date"), doc, APA)
    assert not other.ok and (other.measured, other.limit) == (
        "apa", "chicago-author-date")


def test_a_single_keyword_counts_as_one(doc):
    one = pf.convert_text("---\nkeywords: diplomacy\n---\n\nText.\n",
                          input_format="markdown-smart", standalone=True,
                          pandoc_path=pandoc.pandoc_path())
    [keywords] = submission.check(profile(**{"keywords-min": 1}), one, APA)
    assert keywords.measured == "1" and keywords.ok


# -- JATS ------------------------------------------------------------------------

DOCTYPE = ('<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Publishing '
           'DTD v1.2 20190208//EN" "JATS-journalpublishing1.dtd">')
JATS = f"""<?xml version="1.0" encoding="utf-8"?>
{DOCTYPE}
<article xmlns:xlink="http://www.w3.org/1999/xlink" dtd-version="1.2"
         article-type="research-article">
<front>
<journal-meta>
<journal-id journal-id-type="publisher-id">J</journal-id>
<issn>0000-0000</issn>
<publisher><publisher-name>P</publisher-name></publisher>
</journal-meta>
<article-meta>
<title-group><article-title>T</article-title></title-group>
</article-meta>
</front>
<body><p>Hello.</p></body>
</article>
"""


def test_a_valid_jats_document_passes():
    assert submission.validate_jats(JATS.encode("utf-8")) == []


def test_an_invalid_jats_document_is_refused_with_its_line():
    bad = JATS.replace("<body><p>Hello.</p></body>", "<body><bogus/></body>")
    errors = submission.validate_jats(bad.encode("utf-8"))
    line = bad.splitlines().index("<body><bogus/></body>") + 1
    assert errors and all(error.startswith("line ") for error in errors)
    assert any(f"line {line}:" in error and "bogus" in error for error in errors)


def test_missing_required_jats_metadata_is_refused():
    bad = JATS.replace('<journal-id journal-id-type="publisher-id">J</journal-id>',
                       "")
    assert submission.validate_jats(bad.encode("utf-8")) != []


def test_jats_without_a_known_doctype_is_refused():
    assert submission.validate_jats(
        JATS.replace(DOCTYPE, "").encode("utf-8")) == ["no JATS DOCTYPE"]
    other = JATS.replace("Journal Publishing DTD v1.2", "Journal Publishing DTD v9.9")
    [error] = submission.validate_jats(other.encode("utf-8"))
    assert error.startswith("no DTD for") and "v9.9" in error


def test_the_jats_pandoc_writes_for_a_small_paper_validates():
    paper = pf.convert_text(
        "---\ntitle: T\nabstract: |\n  An abstract.\n---\n\n# Introduction\n\n"
        "Hello *world*.\n", input_format="markdown-smart", output_format="json",
        pandoc_path=pandoc.pandoc_path())
    jats = pf.convert_text(paper, input_format="json",
                           output_format="jats_publishing", standalone=True,
                           pandoc_path=pandoc.pandoc_path())
    assert submission.validate_jats(jats.encode("utf-8")) == []


# -- the leak scan -----------------------------------------------------------------

AUTHORS = submission.Authors(["Waseem Ishaque", "Mudassir Mukhtar"],
                             ["w.ishaque@example.org"])


def test_the_needles_are_names_their_parts_and_emails():
    needles = AUTHORS.needles
    for needle in ("Waseem Ishaque", "Waseem", "Ishaque", "Mukhtar",
                   "w.ishaque@example.org"):
        assert needle in needles
    # Short or lower-case parts ("de", "van") would match everywhere.
    assert "de" not in submission.Authors(["Ana de Souza"], []).needles


def test_a_clean_file_has_no_findings():
    assert submission.scan({"paper.txt": b"An anonymous paper."},
                           AUTHORS.needles) == []


def test_a_name_in_the_bytes_is_found_whatever_its_case():
    found = submission.scan({"paper.txt": b"Thanks to ISHAQUE for comments."},
                            ["Ishaque"])
    assert found == ["paper.txt: bytes contains 'Ishaque'"]


def test_a_name_in_a_file_name_is_found():
    assert submission.scan({"ishaque-cv.txt": b"nothing"}, ["Ishaque"]) == [
        "ishaque-cv.txt: the file name contains 'Ishaque'"]


def test_a_name_split_across_word_runs_in_a_compressed_docx_is_found():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml",
                         "<w:p><w:r><w:t>Ish</w:t></w:r><w:r><w:t>aque</w:t>"
                         "</w:r></w:p>" * 20)
    assert b"Ishaque" not in data.getvalue()
    assert submission.scan({"paper.docx": data.getvalue()}, ["Ishaque"]) == [
        "paper.docx: word/document.xml (text) contains 'Ishaque'"]


def test_a_name_in_a_compressed_pdf_stream_is_found():
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 10 10 Td (Waseem Ishaque) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    page.compress_content_streams()
    data = io.BytesIO()
    writer.write(data)
    assert b"Ishaque" not in data.getvalue()
    found = submission.scan({"paper.pdf": data.getvalue()}, ["Ishaque"])
    assert "paper.pdf: a decompressed stream contains 'Ishaque'" in found


def test_a_name_in_the_pdf_info_is_found():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": "Mudassir Mukhtar"})
    data = io.BytesIO()
    writer.write(data)
    found = submission.scan({"paper.pdf": data.getvalue()}, ["Mukhtar"])
    assert "paper.pdf: its Info contains 'Mukhtar'" in found
