"""The diff read back as the revised text's blocks (pubbuild.respond):
which changes a quotation points at, and the excerpts, in-process on the
diff fixture (tests/manuscripts/diff)."""

from __future__ import annotations

import panflute as pf
import pytest

from conftest import ROOT
from pubbuild import compare, pipeline, respond

FIXTURE = ROOT / "tests" / "manuscripts" / "diff"


@pytest.fixture(scope="module")
def diff():
    docs = [pipeline.run_filters(pipeline.read(FIXTURE / name), without=("backlinks",))
            for name in ("old.md", "new.md")]
    result = compare.compare(*docs, author="A", date="2026-03-01T10:00:00Z",
                             labels=("old", "new"))
    return result, respond.units(result.doc)


def test_units_are_the_revised_text_in_reading_order(diff):
    _, units = diff
    texts = [" ".join(u.text.split()) for u in units]
    assert texts[0] == "A Small Paper on Reciprocity"
    assert ("This paper looks at reciprocity in diplomacy and finds it promising."
            in texts)
    # No deleted text in the new side.
    assert not any("will be deleted" in t for t in texts)
    assert texts.index("Introduction") < texts.index("Approach") < texts.index(
        "Conclusion")


@pytest.mark.parametrize(("quoted", "expected"), [
    ("Talks resumed briefly in 2020", ["change-3"]),
    ("finds it promising", ["change-1"]),
    # Punctuation and quotation marks are not compared.
    ("has been sluggish, for years", ["change-2"]),
    # A passage of a changed paragraph, beside its change: the paragraph's.
    ("Negotiations stalled in 2019", ["change-3"]),
])
def test_a_quotation_points_at_the_changes_there(diff, quoted, expected):
    found, unit = respond.changes_at(diff[1], quoted)
    assert unit is not None and found == expected


def test_words_standing_more_than_once_mean_the_changed_place(diff):
    # "reciprocity" is in the title and the abstract too; the moved
    # paragraph is a change as a whole.
    found, unit = respond.changes_at(diff[1], "reciprocity")
    assert found == ["change-6"]
    assert unit.text.startswith("The theory of reciprocity")


def test_unchanged_and_missing_passages(diff):
    found, unit = respond.changes_at(diff[1], "We read official transcripts")
    assert found == [] and unit is not None
    assert respond.changes_at(diff[1], "No interviews were conducted") == ([], None)


def test_excerpts_strike_and_underline(diff):
    result, units = diff
    (para,) = respond.excerpt(units, "change-2")
    struck = [pf.stringify(e) for e in para.content if isinstance(e, pf.Span)
              and "deleted" in e.classes]
    underlined = [pf.stringify(e) for e in para.content if isinstance(e, pf.Span)
                  and "inserted" in e.classes]
    assert struck == ["slow"] and underlined == ["sluggish"]
    # A deleted paragraph is shown from the diff, struck through.
    (gone,) = respond.deleted(result.doc, "change-4")
    assert "This paragraph will be deleted" in pf.stringify(gone)
    assert any(isinstance(e, pf.Strikeout) for e in _all(gone))
    # No ids or internal links are copied into the letter.
    assert not any(getattr(e, "identifier", "") for e in _all(para))


def test_a_long_paragraph_is_cut_around_the_change():
    words = [f"w{n}" for n in range(40)]
    inlines = []
    for n, word in enumerate(words):
        if n:
            inlines.append(pf.Space())
        inlines.append(pf.Span(pf.Str(word), identifier="change-1",
                               classes=["insertion"]) if n == 20 else pf.Str(word))
    unit = respond.Unit(pf.Para(*inlines), " ".join(words), [("change-1", 0)])
    (para,) = respond.excerpt([unit], "change-1")
    text = pf.stringify(para).split()
    assert text[0] == "…" and text[-1] == "…"
    assert text[1] == f"w{20 - respond.CONTEXT}" and "w20" in text
    assert text[-2] == f"w{20 + respond.CONTEXT}"


def _all(elem) -> list:
    found = []
    elem.walk(lambda e, _doc: found.append(e))
    return found


def test_words_the_revision_deleted_name_their_change(diff):
    result, _ = diff
    numbers = {change.anchor: change.number for change in result.changes}

    def deleted_at(quoted):
        return [numbers[a] for a in respond.deleted_at(result.doc, quoted, numbers)]

    # A whole paragraph deleted, a word replaced in a heading and in a
    # sentence; words that were never there.
    assert deleted_at("will be deleted in the next") == [4]
    assert deleted_at("Methods") == [5]
    assert deleted_at("slow") == [2]
    assert deleted_at("No interviews were conducted") == []
