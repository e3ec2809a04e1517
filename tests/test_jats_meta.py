"""The JATS front matter (pubbuild.jatsmeta): journal-meta from the journal
profile, article-meta from the manuscript's metadata, the references as
element citations; the file valid against Journal Publishing 1.3."""

from __future__ import annotations

import datetime

import pytest
from lxml import etree

from conftest import write_paper
from pubbuild import formats, jatsmeta, pipeline, submission

WHEN = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)

MANUSCRIPT = """\
---
title: Lukewarm Diplomacy
author:
  - name: {given: Ana, family: Lima}
    orcid: 0000-0002-1825-0097
    email: ana@example.org
    corresponding: true
    roles: [conceptualization, writing – review & editing]
    affiliations: [{ref: soc}]
  - name: {given: Bo, family: Chen}
    affiliations: [{ref: soc}, {ref: things}]
affiliations:
  - id: soc
    department: Department of Sociology
    name: University of Example
    city: Exampletown
    country: Norway
    ror: https://ror.org/01xtthb56
  - id: things
    name: Institute of Things
abstract: What this article finds, in one paragraph.
keywords: [diplomacy, peninsula, summits]
copyright: {holder: The Authors, year: 2024}
license:
  type: open-access
  link: https://creativecommons.org/licenses/by/4.0/
  text: Licensed under CC BY 4.0.
bibliography: refs.bib
csl: apa.csl
---

# Introduction

Text [@vu2021].[^note]

[^note]: A footnote.
"""

JOURNAL = {"title": "Journal of Examples", "issn": "1234-5679",
           "eissn": "2345-678X", "publisher": "Example Press"}


def _jats(tmp_path, text: str = MANUSCRIPT, journal: dict | None = None) -> bytes:
    source = pipeline.read(write_paper(tmp_path / "paper", text))
    doc = pipeline.run_filters(source)
    job = formats.Job(source.path, source.path.stem, source.reporter, WHEN)
    return formats.jats(jatsmeta.with_journal(doc, journal), job)  # raises if invalid


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> bytes:
    return _jats(tmp_path_factory.mktemp("meta"), journal=JOURNAL)


@pytest.fixture(scope="module")
def meta(written):
    return etree.fromstring(written).find("front/article-meta")


def test_the_file_is_journal_publishing_1_3_and_valid(written):
    # Repositories read the DOCTYPE to pick the schema they check against.
    assert b"Journal Publishing DTD v1.3 20210610" in written
    assert etree.fromstring(written).get("dtd-version") == "1.3"
    assert submission.validate_jats(written) == []
    broken = written.replace(b"<contrib-group>", b"<contrib-group><nonsense/>", 1)
    assert submission.validate_jats(broken)  # the 1.3 check can fail


def test_authors_have_their_name_parts_and_orcid(meta):
    # Indexers (Crossref, PubMed Central) match authors by surname and ORCID.
    contribs = meta.findall("contrib-group/contrib")
    assert [(c.findtext("name/surname"), c.findtext("name/given-names"))
            for c in contribs] == [("Lima", "Ana"), ("Chen", "Bo")]
    orcid = contribs[0].find("contrib-id")
    assert orcid.get("contrib-id-type") == "orcid"
    assert orcid.text == "https://orcid.org/0000-0002-1825-0097"
    assert contribs[1].find("contrib-id") is None


def test_credit_roles_name_the_vocabulary_term(meta):
    # Crossref and JATS4R read the role by its CRediT term's URL.
    roles = meta.findall("contrib-group/contrib")[0].findall("role[@vocab='credit']")
    assert [r.get("vocab-term-identifier") for r in roles] == [
        "https://credit.niso.org/contributor-roles/conceptualization/",
        "https://credit.niso.org/contributor-roles/writing-review-editing/"]
    assert roles[1].text == "Writing – review & editing"


def test_the_corresponding_author_is_marked_with_an_address(meta):
    first, second = meta.findall("contrib-group/contrib")
    assert first.get("corresp") == "yes" and second.get("corresp") is None
    rid = first.find("xref[@ref-type='corresp']").get("rid")
    corresp = meta.find(f"author-notes/corresp[@id='{rid}']")
    assert corresp.findtext("email") == "ana@example.org"


def test_affiliations_are_shared_and_carry_the_ror(meta):
    affs = meta.findall("contrib-group/aff")
    assert len(affs) == 2  # the shared one once
    first, second = meta.findall("contrib-group/contrib")
    assert [x.get("rid") for x in second.findall("xref[@ref-type='aff']")] == [
        a.get("id") for a in affs]
    assert first.find("xref[@ref-type='aff']").get("rid") == affs[0].get("id")
    ror = affs[0].find("institution-wrap/institution-id")
    assert ror.get("institution-id-type") == "ror"
    assert ror.text == "https://ror.org/01xtthb56"
    assert "University of Example" in "".join(affs[0].itertext())
    assert affs[1].find(".//institution-id") is None


def test_keywords_abstract_and_the_builds_date(meta):
    assert [k.text for k in meta.findall("kwd-group/kwd")] == [
        "diplomacy", "peninsula", "summits"]
    # A one-line abstract is still a paragraph: <abstract> holds only <p>s.
    assert meta.findtext("abstract/p") == "What this article finds, in one paragraph."
    date = meta.find("pub-date")
    assert date.get("iso-8601-date") == "2024-05-01"
    assert (date.findtext("year"), date.findtext("month"), date.findtext("day")) == (
        "2024", "05", "01")


def test_permissions_say_the_copyright_and_licence(meta):
    permissions = meta.find("permissions")
    assert permissions.findtext("copyright-statement") == "© 2024 The Authors"
    assert permissions.findtext("copyright-holder") == "The Authors"
    license_ = permissions.find("license")
    assert license_.findtext("{http://www.niso.org/schemas/ali/1.0/}license_ref") == (
        "https://creativecommons.org/licenses/by/4.0/")
    assert license_.findtext("license-p") == "Licensed under CC BY 4.0."


def test_journal_meta_comes_from_the_profile(written):
    journal = etree.fromstring(written).find("front/journal-meta")
    title = journal.findtext("journal-title-group/journal-title")
    assert title == "Journal of Examples"
    assert {i.get("publication-format"): i.text for i in journal.findall("issn")} == {
        "print": "1234-5679", "electronic": "2345-678X"}
    assert journal.findtext("publisher/publisher-name") == "Example Press"


def test_references_are_element_citations(written):
    # Structured, so that a repository can link them (not the style's text).
    ref = etree.fromstring(written).find("back/ref-list/ref")
    citation = ref.find("element-citation")
    assert ref.get("id") == "ref-vu2021" and citation is not None
    assert citation.findtext("person-group/name/surname") == "Vu"
    assert citation.findtext("year") == "2021"
    assert etree.fromstring(written).find("back//fn/p").text == "A footnote."


def test_without_a_journal_or_licence_the_file_is_still_valid(tmp_path):
    text = ("---\ntitle: Bare\nauthor: Solo Author\nbibliography: refs.bib\n"
            "csl: apa.csl\n---\n\nJust text [@vu2021].\n")
    written = _jats(tmp_path, text)
    root = etree.fromstring(written)
    assert submission.validate_jats(written) == []
    # No empty publisher or permissions claiming nothing.
    assert root.find("front/journal-meta/publisher") is None
    assert root.find("front/article-meta/permissions") is None
    assert root.findtext("front/article-meta/contrib-group/contrib/string-name") == (
        "Solo Author")


def test_the_manuscripts_own_journal_map_uses_the_profiles_names(tmp_path):
    text = ("---\ntitle: T\njournal: {title: Own Journal, issn: 1234-5679, "
            "publisher: Own Press}\nbibliography: refs.bib\ncsl: apa.csl\n---\n\n"
            "Text [@vu2021].\n")
    journal = etree.fromstring(_jats(tmp_path, text)).find("front/journal-meta")
    assert journal.findtext("journal-title-group/journal-title") == "Own Journal"
    assert journal.findtext("issn") == "1234-5679"
    assert journal.findtext("publisher/publisher-name") == "Own Press"


# Quarto's funding block and equal contributors, on the same manuscript.
FUNDED = MANUSCRIPT.replace(
    "    roles:", "    equal-contributor: true\n    roles:").replace(
    "  - name: {given: Bo, family: Chen}\n",
    "  - name: {given: Bo, family: Chen}\n    id: bo\n    equal-contributor: true\n"
).replace("abstract:", """\
funding:
  statement: "Funded by the Example Foundation & others."
  awards:
    - id: EX-2024-17
      name: Lukewarm summits
      source:
        text: Example Foundation
        ror: 02xfw2e90
      recipient: {ref: bo}
      investigator: Ana Lima
abstract:""")


@pytest.fixture(scope="module")
def funded(tmp_path_factory) -> bytes:
    return _jats(tmp_path_factory.mktemp("funded"), FUNDED)


def test_funding_group_says_funder_award_and_recipients(funded):
    # Crossref and PubMed Central read the funder (by ROR) and the award id
    # from <award-group>, not from the statement's prose.
    assert submission.validate_jats(funded) == []
    meta = etree.fromstring(funded).find("front/article-meta")
    group = meta.find("funding-group")
    assert [child.tag for child in group] == ["award-group", "funding-statement"]
    award = group.find("award-group")
    source = award.find("funding-source/institution-wrap")
    assert source.findtext("institution") == "Example Foundation"
    ror = source.find("institution-id")
    assert (ror.get("institution-id-type"), ror.text) == (
        "ror", "https://ror.org/02xfw2e90")
    assert award.findtext("award-id") == "EX-2024-17"
    assert award.findtext("award-name") == "Lukewarm summits"
    # The recipient named by author id gets the author's name parts.
    assert award.findtext("principal-award-recipient/name/surname") == "Chen"
    assert award.findtext("principal-investigator/name/surname") == "Lima"
    assert group.findtext("funding-statement") == (
        "Funded by the Example Foundation & others.")
    # Its place in the DTD's order: after the keywords.
    tags = [child.tag for child in meta]
    assert tags.index("funding-group") == tags.index("kwd-group") + 1


def test_equal_contributors_point_to_one_author_note(funded):
    meta = etree.fromstring(funded).find("front/article-meta")
    fn = meta.find("author-notes/fn[@fn-type='equal']")
    assert fn.findtext("p") == "These authors contributed equally to this work."
    assert fn.findtext("label") == "†"  # the byline's symbol
    contribs = meta.findall("contrib-group/contrib")
    assert [c.get("equal-contrib") for c in contribs] == ["yes", "yes"]
    assert [c.find("xref[@ref-type='fn']").get("rid") for c in contribs] == [
        fn.get("id")] * 2


def test_affiliations_are_tagged_in_their_parts(meta):
    # Indexers match institutions by name and ROR, not by a postal string.
    aff = meta.find("contrib-group/aff")
    wrap = aff.find("institution-wrap")
    assert [(i.get("content-type"), i.text) for i in wrap.findall("institution")] == [
        ("dept", "Department of Sociology"), (None, "University of Example")]
    assert aff.findtext("city") == "Exampletown"
    assert aff.findtext("country") == "Norway"


NOTE_MARKS = """\
---
title: Marks
author:
  - name: Waseem Ishaque
    note-mark: "*"
    position: Assistant Professor
    email: w@example.org
    affiliations:
      - department: Department of International Relations
        name: NUML
        city: Islamabad
        country: Pakistan
  - name: Mudassir Mukhtar
    note-mark: "†"
    position: Associate Professor
    affiliations:
      - department: Department of Mass Communication
        name: NUML
        city: Islamabad
        country: Pakistan
competing-interests: |
  The authors declare *no* competing interests.

  None at all.
bibliography: refs.bib
csl: apa.csl
---

Text [@vu2021].
"""


def test_positions_and_competing_interests_are_author_notes(tmp_path):
    written = _jats(tmp_path, NOTE_MARKS)
    assert submission.validate_jats(written) == []
    meta = etree.fromstring(written).find("front/article-meta")
    # Single-string names stay <string-name>: their parts are unknown.
    contribs = meta.findall("contrib-group/contrib")
    assert [c.findtext("string-name") for c in contribs] == [
        "Waseem Ishaque", "Mudassir Mukhtar"]
    for contrib, position, mark in zip(
            contribs, ("Assistant Professor", "Associate Professor"), "*†",
            strict=True):
        xref = contrib.find("xref[@ref-type='fn']")
        assert xref.findtext("sup") == mark
        fn = meta.find(f"author-notes/fn[@id='{xref.get('rid')}']")
        assert (fn.findtext("label"), fn.findtext("p")) == (mark, position)
    coi = meta.find("author-notes/fn[@fn-type='coi-statement']")
    assert [" ".join("".join(p.itertext()).split()) for p in coi.findall("p")] == [
        "The authors declare no competing interests.", "None at all."]
    assert coi.find("p/italic").text == "no"


def test_data_availability_is_a_back_section(tmp_path):
    """JATS4R: the statement is `<sec sec-type="data-availability">` in
    `<back>`, where repositories and indexers look for it."""
    text = MANUSCRIPT.replace(
        "abstract: What", "data-availability: The counts are in the *Harbour* "
        "archive.\nabstract: What")
    written = _jats(tmp_path, text)
    assert submission.validate_jats(written) == []
    root = etree.fromstring(written)
    section = root.find("back/sec[@sec-type='data-availability']")
    assert section is not None, etree.tostring(root.find("back"))[:300]
    assert section.findtext("title") == "Data availability"
    assert " ".join("".join(section.find("p").itertext()).split()) == \
        "The counts are in the Harbour archive."
    assert section.find("p/italic").text == "Harbour"
    assert root.find("body//sec[@sec-type='data-availability']") is None


def test_without_a_statement_there_is_no_such_section(written):
    assert b"data-availability" not in written
