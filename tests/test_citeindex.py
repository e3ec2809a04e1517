"""The citation index and the bibliography reader (pubbuild/citeindex.py,
pubbuild/bibliography.py), in-process on a small .bib with the project's
APA style: written citations resolve to the entry the style labels that
way, ambiguous or unknown ones say why, and the reader finds each entry's
line, duplicate keys and missing fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import GOOD_BIB, ROOT
from pubbuild import bibliography, citeindex
from pubbuild.citeindex import Query
from pubbuild.diagnostics import BuildError, Reporter

APA = ROOT / "bib" / "apa.csl"

MORE = """
@article{sanghun2018may,
  author       = {Sang-Hun, Choe and Rich, Motoko},
  date         = {2018-05-02},
  title        = {Beta talks},
  journaltitle = {The New York Times},
}

@article{sanghun2018mar,
  author       = {Sang-Hun, Choe and Rich, Motoko},
  date         = {2018-03-01},
  title        = {Alpha talks},
  journaltitle = {The New York Times},
}

@book{jin,
  author    = {Jin, Canrong and Wang, Ai and Li, Bo},
  title     = {A book without a date},
  publisher = {Press},
}

@report{un2020,
  author      = {{United Nations}},
  date        = {2020},
  title       = {Annual report},
  institution = {United Nations},
}

@online{armstrong2020,
  author = {Armstrong, Charles K.},
  date   = {2020},
  title  = {Peace prospects},
  url    = {https://example.org/armstrong},
}
"""


@pytest.fixture(scope="module")
def bib_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bib") / "refs.bib"
    path.write_text(GOOD_BIB + MORE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(bib_path) -> citeindex.CitationIndex:
    assert APA.is_file()
    _, found = citeindex.load([bib_path], APA)
    return found


# -- labels ----------------------------------------------------------------------

def test_each_entry_gets_the_label_the_style_prints(index):
    labels = {entry.key: entry.label for entry in index.entries}
    assert labels["vu2021"] == "Vu, 2021"
    assert labels["jin"] == "Jin et al., n.d."  # three authors, no date
    assert labels["un2020"] == "United Nations, 2020"
    assert index.by_key["sanghun2018may"].names == "Sang-Hun & Rich"
    assert index.by_key["sanghun2018may"].families == ("Sang-Hun", "Rich")


def test_same_authors_same_year_get_year_suffixes_in_date_order(index):
    """citeproc-py prints two "Sang-Hun & Rich, 2018"; the index adds a/b as
    the style does: the earlier one first."""
    assert index.by_key["sanghun2018mar"].label == "Sang-Hun & Rich, 2018a"
    assert index.by_key["sanghun2018may"].label == "Sang-Hun & Rich, 2018b"
    assert index.by_key["vu2021"].suffix == ""


# -- resolving a written citation -----------------------------------------------------

def resolved(index, *names, **query) -> citeindex.Match:
    return index.resolve(Query(list(names), **query))


def test_author_and_year_find_the_entry_exactly(index):
    match = resolved(index, "Vu", year="2021")
    assert (match.key, match.error, match.tolerant) == ("vu2021", None, [])
    assert match.entry is index.by_key["vu2021"]


def test_two_authors_and_a_year_suffix(index):
    assert resolved(index, "Sang-Hun", "Rich", year="2018", suffix="a").key == (
        "sanghun2018mar")
    assert resolved(index, "Sang-Hun", "Rich", year="2018", suffix="b").key == (
        "sanghun2018may")


def test_et_al_and_no_date(index):
    match = resolved(index, "Jin", etal=True, year="n.d.")
    assert (match.key, match.tolerant) == ("jin", [])


def test_an_organisation_is_found_by_its_printed_name(index):
    assert resolved(index, "United", "Nations", year="2020").key == "un2020"


def test_names_are_compared_without_case_accents_or_hyphens(index):
    assert resolved(index, "sanghun", "RICH", year="2018", suffix="a").key == (
        "sanghun2018mar")
    assert resolved(index, "Vú", year="2021").key == "vu2021"


def test_a_tolerant_match_says_what_was_relaxed(index):
    no_year = resolved(index, "Vu")
    assert no_year.key == "vu2021" and no_year.tolerant == ["no year written"]
    misspelt = resolved(index, "Armstrng", year="2020")
    assert misspelt.key == "armstrong2020"
    assert misspelt.tolerant == ["name spelled differently"]
    first_author = resolved(index, "Sang-Hun", year="2018", suffix="b")
    assert first_author.key == "sanghun2018may"
    assert first_author.tolerant == ["written with 1 of the entry's 2 authors"]


def test_a_missing_year_suffix_is_ambiguous_between_the_entries(index):
    match = resolved(index, "Sang-Hun", "Rich", year="2018")
    assert match.key is None and match.error.startswith("ambiguous: could be")
    assert {entry.key for entry in match.candidates} == {"sanghun2018mar",
                                                         "sanghun2018may"}
    assert "[sanghun2018mar]" in match.error and "[sanghun2018may]" in match.error


def test_a_wrong_year_names_the_entries_by_that_author(index):
    match = resolved(index, "Vu", year="2020")
    assert match.key is None
    assert match.error == ("no bibliography entry matches; entries by that name: "
                           "Vu, 2021")
    assert [entry.key for entry in match.candidates] == ["vu2021"]


def test_an_unknown_author_matches_nothing(index):
    match = resolved(index, "Nobody", year="2021")
    assert (match.key, match.error, match.candidates) == (
        None, "no bibliography entry matches", [])


def test_short_names_are_not_matched_loosely(index):
    """"Vo" is not a misspelling of "Vu": too short to tell."""
    assert resolved(index, "Vo", year="2021").key is None
    assert resolved(index, "Vuu", year="2021").key is None


def test_keys_are_known_or_not(index):
    assert "vu2021" in index
    assert "vu2020" not in index and "" not in index


def test_a_malformed_style_is_one_line_with_its_line(tmp_path, bib_path):
    style = tmp_path / "broken.csl"
    style.write_text('<?xml version="1.0"?>\n<style>\n<info>\n</style>\n',
                     encoding="utf-8")
    with pytest.raises(BuildError, match="malformed CSL style") as caught:
        citeindex.load([bib_path], style)
    assert caught.value.file == style and caught.value.line is not None


# -- the bibliography reader -----------------------------------------------------------

def test_entries_know_their_line_and_type(bib_path):
    bib = bibliography.load(bib_path)
    lines = bib_path.read_text(encoding="utf-8").splitlines()
    assert len(bib) == 6
    for entry in bib:
        assert lines[entry.line - 1].lstrip().startswith(f"@{entry.bibtype}{{")
        assert f"{{{entry.key}," in lines[entry.line - 1]
        assert entry.csl["id"] == entry.key
    assert bib.entries["vu2021"].bibtype == "online"
    assert bib.duplicates == []


def test_a_duplicate_key_is_recorded_with_both_lines(tmp_path):
    path = tmp_path / "dup.bib"
    path.write_text(GOOD_BIB + "\n" + GOOD_BIB.replace("lukewarm", "warm"),
                    encoding="utf-8")
    bib = bibliography.load(path)
    [(later, first)] = bib.duplicates
    assert later.key == first.key == "vu2021"
    assert later.line > first.line == 1
    assert list(bib.entries) == ["vu2021"]


def test_string_and_comment_blocks_are_not_entries(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text('@string{nyt = "The New York Times"}\n@comment{x, y}\n'
                    + GOOD_BIB, encoding="utf-8")
    bib = bibliography.load(path)
    assert list(bib.entries) == ["vu2021"] and bib.entries["vu2021"].line == 3


def test_a_missing_bibliography_is_a_build_error(tmp_path):
    with pytest.raises(BuildError, match="bibliography file not found"):
        bibliography.load(tmp_path / "nowhere.bib")


def test_check_warns_of_shared_links_and_missing_fields(tmp_path):
    path = tmp_path / "refs.bib"
    path.write_text(GOOD_BIB + """
@online{copy2021,
  author = {Copy, C.},
  date   = {2021},
  title  = {Another page},
  url    = {http://www.example.org/vu/},
}

@article{nojournal,
  author = {Lee, L.},
  date   = {2020},
  title  = {Where was it published},
}
""", encoding="utf-8")
    bib = bibliography.load(path)
    reporter = Reporter()
    bibliography.check(bib, reporter)
    messages = [(d.line, d.message) for d in reporter.diagnostics]
    assert all(d.level == "warning" and d.file == path for d in reporter.diagnostics)
    line = bib.entries["copy2021"].line
    assert (line, "'copy2021' has the same URL as 'vu2021' (line 1): "
                  "http://www.example.org/vu/") in messages
    assert (bib.entries["nojournal"].line,
            "'nojournal' (@article) has no journaltitle") in messages
    assert len(messages) == 2
