"""The citation normaliser, beyond its golden cases.

Its golden cases (`tests/filters/citations/`) run with every filter's, in
tests/test_filter_goldens.py; the tests here look into the documents that
the same harness (tests/goldens.py) returns for some of them.
"""

from __future__ import annotations

import panflute as pf

import goldens
from conftest import ROOT
from goldens import diagnostic, run_case
from pubbuild import pandoc

CASES_DIR = goldens.CASES_DIR / "citations"


def cites(doc: pf.Doc) -> list[pf.Cite]:
    found = []
    doc.walk(lambda e, d: found.append(e) if isinstance(e, pf.Cite) else None)
    return found


def test_link_fields_become_cites_with_locators():
    _, doc = run_case(CASES_DIR / "link_fields.md")
    found = [[(c.id, c.mode, pf.stringify(pf.Span(*c.suffix))) for c in cite.citations]
             for cite in cites(doc)]
    # The reader must see "(Vu, 2021, p. 4)": key, mode and locator kept.
    assert found[0] == [("vu2021", "NormalCitation", ", p. 4")]
    assert found[1] == [("falk2001", "NormalCitation", ", p. 2")]
    assert found[2] == [("lee2021", "NormalCitation", "")]
    # Two fields in one parenthesis and two citations in one field: one Cite.
    assert [c[0] for c in found[3]] == ["vu2021", "lee2021"]
    assert [c[0] for c in found[4]] == ["vu2021", "lee2021"]
    assert found[5] == [("snyder2019", "AuthorInText", "p. 2")]
    # The parentheses the author typed are gone: citeproc prints its own.
    first = pf.stringify(doc.content[0])
    assert "(" not in first and ")" not in first
    assert not doc.context.reporter.diagnostics


def test_citeproc_renders_the_normalised_citations():
    _, doc = run_case(CASES_DIR / "link_fields.md")
    doc.metadata["bibliography"] = pf.MetaString(str(CASES_DIR / "references.bib"))
    doc.metadata["csl"] = pf.MetaString(str(ROOT / "bib" / "apa.csl"))
    text = "\n".join(pf.stringify(block) for block in pandoc.citeproc(doc).content)
    # What a reader of the built article sees, in APA 7.
    assert "one per parenthesis (Vu, 2021, p. 4)," in text
    assert "with two authors (Falk & Fischbacher, 2001, p. 2)," in text
    # APA orders several works in one parenthesis alphabetically.
    assert "one parenthesis (Lee, 2021, p. 3; Vu, 2021) and" in text
    assert "narrative: Snyder (2019, p. 2) says so" in text


def test_errors_name_the_line():
    _, doc = run_case(CASES_DIR / "ambiguous.md")
    errors = [diagnostic(d) for d in doc.context.reporter.errors]
    assert errors[0].startswith("ambiguous.md:1: error: citation 'Snyder'")
    assert "snyder2019" in errors[0] and "snyder2021" in errors[0]
    assert errors[1].startswith("ambiguous.md:2: error: citation 'Sang-Hun, 2018'")


def test_options_are_removed_from_metadata():
    _, doc = run_case(CASES_DIR / "options.md")
    # Left in, the option block would leak into <meta> tags and the EPUB OPF.
    assert "citations" not in doc.metadata.content
    assert doc.get_metadata("title") == "Options"


def test_filter_runs_many_times_in_one_process():
    # Per-run state lives on the doc: a second run sees no leftovers.
    first, _ = run_case(CASES_DIR / "tolerant.md")
    second, doc = run_case(CASES_DIR / "tolerant.md")
    assert first == second
    assert len(doc.context.citation_records) == 4


def test_prose_in_parentheses_is_left_alone_silently():
    _, doc = run_case(CASES_DIR / "prose_in_parentheses.md")
    # Dates, seasons, standards and statistics taken for citations would
    # stop the build ("no bibliography entry matches") or print as one.
    assert cites(doc) == []
    assert not doc.context.reporter.diagnostics


def test_near_misses_are_errors_that_name_the_nearest_entries():
    _, doc = run_case(CASES_DIR / "near_misses.md")
    errors = [d.message for d in doc.context.reporter.errors]
    # The author is told what they probably meant, not only that it failed.
    swapped = next(e for e in errors if "Fischbacher & Falk" in e)
    assert "nearest entries: Falk & Fischbacher, 2001 [falk2001]" in swapped
    short = next(e for e in errors if "'Vo, 2021'" in e)
    assert "nearest entries: Vu, 2021 [vu2021]" in short
    assert len(errors) == 5
    assert cites(doc) == []


def test_a_key_without_its_at_joins_its_group():
    _, doc = run_case(CASES_DIR / "bare_key.md")
    groups = [[(c.id, c.mode, pf.stringify(pf.Span(*c.prefix)),
                pf.stringify(pf.Span(*c.suffix))) for c in cite.citations]
              for cite in cites(doc)]
    # One parenthesis with all three works, not "[Vu (2021); lee2021; …]".
    assert groups[0] == [("vu2021", "NormalCitation", "", ""),
                         ("lee2021", "NormalCitation", "", ""),
                         ("snyder2019", "NormalCitation", "", "")]
    assert groups[1] == [("falk2001", "NormalCitation", "see", ", p. 2"),
                         ("harris2021", "NormalCitation", "", ", p. 3")]
    assert [c[0] for c in groups[2]] == ["im2021", "lee2021"]
    # The group with an unknown bare key stays as pandoc read it.
    assert [c[0][1] for c in groups[3:]] == ["AuthorInText"] * 3
    warnings = [diagnostic(d) for d in doc.context.reporter.warnings]
    assert warnings[0] == ("bare_key.md:2: warning: looks like a citation key "
                           "without @: lee2021")
    assert warnings[-1].startswith("bare_key.md:6: warning: looks like a "
                                   "citation key without @: b2006")
    # `check` lists each repaired group once, as written, and finds its
    # rendering by number: numbers must stay unique.
    records = doc.context.citation_records
    assert records[0].written == "[@vu2021; lee2021; @snyder2019]"
    assert records[0].line == 1
    assert len({record.number for record in records}) == len(records)
    assert sorted(c.citations[0].hash for c in cites(doc)) == sorted(
        record.number for record in records)


def test_a_repaired_group_renders_as_one_citation():
    _, doc = run_case(CASES_DIR / "bare_key.md")
    doc.metadata["bibliography"] = pf.MetaString(str(CASES_DIR / "references.bib"))
    doc.metadata["csl"] = pf.MetaString(str(ROOT / "bib" / "apa.csl"))
    text = pf.stringify(pandoc.citeproc(doc).content[0])
    assert "without its @ (Lee, 2021; Snyder, 2019; Vu, 2021) is read" in text
    assert "(see Falk & Fischbacher, 2001, p. 2; Harris et al., 2021, p. 3)" in text


def test_a_status_takes_the_place_of_the_year():
    _, doc = run_case(CASES_DIR / "forthcoming.md")
    # pandoc's citeproc prints "(Kim, forthcoming)", "(Park, in press)".
    assert [cite.citations[0].id for cite in cites(doc)] == ["kim", "park"]
