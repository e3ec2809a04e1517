"""The revision diff's logic (pubbuild/compare.py), in-process on small
documents: how blocks are aligned (kept, changed, inserted, deleted, moved)
and what the word diff inside a pair reports, in the change list and in the
summary counts. (tests/test_diff.py runs the whole command.)"""

from __future__ import annotations

import functools
import io
import json
from types import SimpleNamespace

import panflute as pf
import pytest

from pubbuild import compare, pandoc

OLD = """\
---
title: The old title
keywords: [diplomacy, Korea]
---

# Introduction

The quick brown fox jumps over the lazy dog.

A second paragraph stays the same in both versions.

Reciprocity explains why small gestures matter [@vu2021, p. 2].

# Conclusion

Final words close the argument here.
"""

FOX = "The quick brown fox jumps over the lazy dog."


@functools.cache
def _json(text: str) -> str:
    return pf.convert_text(text, input_format="markdown-smart", output_format="json",
                           pandoc_path=pandoc.pandoc_path())


def read(text: str) -> pf.Doc:
    """A fresh Doc for `text` (compare changes the new one's metadata)."""
    return pf.load(io.StringIO(_json(text)))


def diff(new: str, old: str = OLD) -> compare.Result:
    return compare.compare(read(old), read(new), author="Reviewer Two",
                           date="2026-03-01T10:00:00Z", labels=("v1", "v2"))


def kinds(result: compare.Result) -> list[tuple[str, str]]:
    return [(change.section, change.kind) for change in result.changes]


def spans(doc: pf.Doc, kind: str) -> list[pf.Span]:
    found = []
    doc.walk(lambda e, _d: found.append(e)
             if isinstance(e, pf.Span) and kind in e.classes
             and "legend" not in e.classes else None)
    return found


def divs(doc: pf.Doc, kind: str) -> list[pf.Div]:
    found = []
    doc.walk(lambda e, _d: found.append(e)
             if isinstance(e, pf.Div) and kind in e.classes else None)
    return found


def body(result: compare.Result) -> list[pf.Block]:
    """The diff document without its summary."""
    return [b for b in result.doc.content if "diff-summary" not in
            getattr(b, "classes", [])]


def words(text: str) -> int:
    return len(text.split())


def test_the_same_text_has_no_changes():
    result = diff(OLD)
    assert result.changes == []
    assert result.summary["changes"] == 0
    assert result.summary["words"] == {"inserted": 0, "deleted": 0}
    assert result.summary["paragraphs"] == {} and result.summary["metadata"] == []
    assert "No changes." in pf.stringify(result.doc.content[0])
    assert spans(result.doc, "insertion") == spans(result.doc, "deletion") == []


def test_rewrapping_a_paragraph_is_not_a_change():
    assert diff(OLD.replace("brown fox jumps", "brown\nfox jumps")).changes == []


def test_a_deleted_word():
    result = diff(OLD.replace("quick ", ""))
    assert kinds(result) == [("Introduction", "text deleted")]
    assert (result.changes[0].old, result.changes[0].new) == ("quick", "")
    assert result.summary["words"] == {"inserted": 0, "deleted": 1}
    assert result.summary["paragraphs"] == {"Introduction": {"changed": 1}}
    [span] = spans(result.doc, "deletion")
    assert pf.stringify(span).strip() == "quick"
    assert span.identifier == "change-1"
    assert span.attributes == {"author": "Reviewer Two",
                               "date": "2026-03-01T10:00:00Z"}
    # The rest of the paragraph is there, unmarked.
    assert "brown fox jumps over the lazy dog." in pf.stringify(result.doc)


def test_a_replaced_word_is_one_change_with_both_sides():
    result = diff(OLD.replace("lazy dog", "sleepy dog"))
    assert kinds(result) == [("Introduction", "text replaced")]
    assert (result.changes[0].old, result.changes[0].new) == ("lazy", "sleepy")
    assert result.summary["words"] == {"inserted": 1, "deleted": 1}
    [deleted], [inserted] = spans(result.doc, "deletion"), spans(result.doc,
                                                                  "insertion")
    # One anchor per change: on the deletion, the insertion follows it.
    assert deleted.identifier == "change-1" and inserted.identifier == ""


def test_an_inserted_paragraph():
    added = "A brand new paragraph appears here."
    result = diff(OLD.replace("A second", f"{added}\n\nA second"))
    assert kinds(result) == [("Introduction", "paragraph inserted")]
    assert result.changes[0].new == added
    assert result.summary["words"] == {"inserted": words(added), "deleted": 0}
    assert result.summary["paragraphs"] == {"Introduction": {"inserted": 1}}
    # In its place, between the paragraphs it was written between.
    texts = [pf.stringify(b).strip() for b in body(result)]
    position = texts.index(added)
    assert texts[position - 1] == FOX and texts[position + 1].startswith("A second")
    [block] = divs(result.doc, "block-insertion")
    assert block.identifier == "change-1"


def test_a_deleted_paragraph_is_shown_where_it_stood():
    gone = "A second paragraph stays the same in both versions."
    result = diff(OLD.replace(gone + "\n\n", ""))
    assert kinds(result) == [("Introduction", "paragraph deleted")]
    assert result.changes[0].old == gone
    assert result.summary["words"] == {"inserted": 0, "deleted": words(gone)}
    assert result.summary["paragraphs"] == {"Introduction": {"deleted": 1}}
    texts = [pf.stringify(b).strip() for b in body(result)]
    assert texts.index(gone) == texts.index(FOX) + 1
    [block] = divs(result.doc, "block-deletion")
    assert pf.stringify(block).strip() == gone


def test_a_rewritten_paragraph_is_a_deletion_and_an_insertion():
    old, new = ("Final words close the argument here.",
                "Entirely different sentences about nothing in particular.")
    result = diff(OLD.replace(old, new))
    assert sorted(kinds(result)) == [("Conclusion", "paragraph deleted"),
                                     ("Conclusion", "paragraph inserted")]
    assert result.summary["words"] == {"inserted": words(new), "deleted": words(old)}


def test_an_edited_paragraph_pairs_with_its_old_self():
    result = diff(OLD.replace("quick brown", "brown").replace("lazy", "lazy old"))
    assert [kind for _, kind in kinds(result)] == ["text deleted", "text inserted"]
    assert result.summary["paragraphs"] == {"Introduction": {"changed": 1}}
    assert divs(result.doc, "block-insertion") == []


def test_a_paragraph_moved_unchanged():
    moved = OLD.replace(FOX + "\n\n", "").replace(
        "Final words", FOX + "\n\nFinal words")
    result = diff(moved)
    assert kinds(result) == [("Conclusion", "paragraph moved")]
    assert result.summary["words"] == {"inserted": 0, "deleted": 0}
    assert result.summary["paragraphs"] == {"Conclusion": {"moved": 1}}
    # Both ends are marked and link to each other.
    [source], [target] = divs(result.doc, "moved-from"), divs(result.doc, "moved-to")
    assert source.identifier == "move-1-from" and target.identifier == "move-1"
    assert "Moved to “Conclusion”" in pf.stringify(source)
    assert "Moved from “Introduction”" in pf.stringify(target)
    blocks = body(result)
    assert blocks.index(source) < blocks.index(target)


def test_a_paragraph_moved_and_edited():
    moved = OLD.replace(FOX + "\n\n", "").replace(
        "Final words", FOX.replace("lazy dog", "lazy old dog") + "\n\nFinal words")
    result = diff(moved)
    assert kinds(result) == [("Conclusion", "text inserted"),
                             ("Conclusion", "paragraph moved and edited")]
    assert result.changes[0].new == "old"
    assert result.summary["words"] == {"inserted": 1, "deleted": 0}


def test_a_renamed_heading():
    result = diff(OLD.replace("# Conclusion", "# Discussion"))
    assert kinds(result) == [("Discussion", "heading renamed")]
    change = result.changes[0]
    assert (change.old, change.new) == ("Conclusion", "Discussion")
    # The change links to the heading itself, not to a span inside it
    # (a heading's text is copied into the table of contents).
    assert change.anchor == "discussion"
    assert all(not span.identifier for span in spans(result.doc, "insertion"))


def test_a_changed_locator_is_a_changed_citation():
    result = diff(OLD.replace("p. 2", "p. 3"))
    assert kinds(result) == [("Introduction", "citation changed")]
    assert result.summary["citations"] == {"added": 0, "removed": 0, "changed": 1}
    assert result.summary["words"] == {"inserted": 0, "deleted": 0}


def test_an_added_and_a_removed_citation():
    added = diff(OLD.replace("here.", "here [@snyder2019]."))
    assert kinds(added) == [("Conclusion", "citation added")]
    assert added.summary["citations"] == {"added": 1, "removed": 0, "changed": 0}
    removed = diff(OLD.replace(" [@vu2021, p. 2]", ""))
    assert kinds(removed) == [("Introduction", "citation removed")]
    assert removed.summary["citations"] == {"added": 0, "removed": 1, "changed": 0}


def test_title_and_keywords_are_compared_in_the_metadata():
    result = diff(OLD.replace("old title", "new title").replace(
        "[diplomacy, Korea]", "[diplomacy, Korea, sanctions]"))
    assert kinds(result) == [("Title", "text replaced"), ("Keywords", "keyword added")]
    assert result.summary["metadata"] == ["title", "keywords"]
    assert result.changes[1].new == "sanctions"
    # The new title carries the marks, in the diff's own metadata.
    title = result.doc.metadata["title"]
    assert [pf.stringify(s) for s in spans(result.doc, "deletion")] == ["old"]
    assert "new" in pf.stringify(title)


def test_changes_are_numbered_in_reading_order_and_summarised():
    new = OLD.replace("quick ", "").replace("# Conclusion", "# Discussion").replace(
        "here.", "here, at last.")
    result = diff(new)
    assert [c.number for c in result.changes] == list(range(1, 4))
    assert [s for s, _ in kinds(result)] == ["Introduction", "Discussion",
                                             "Discussion"]
    assert result.summary["changes"] == len(result.changes)
    summary = pf.stringify(result.doc.content[0])
    assert "Changes from v1 to v2" in summary
    inserted, deleted = (result.summary["words"]["inserted"],
                         result.summary["words"]["deleted"])
    assert f"{inserted} words inserted, {deleted} deleted" in summary
    # Every change in the summary's list links to an anchor in the text.
    links = []
    result.doc.content[0].walk(
        lambda e, _d: links.append(e.url) if isinstance(e, pf.Link) else None)
    ids = set()
    result.doc.walk(lambda e, _d: ids.add(e.identifier)
                    if getattr(e, "identifier", "") else None)
    assert links == [f"#{c.anchor}" for c in result.changes]
    assert all(link[1:] in ids for link in links)


def test_for_word_drops_the_summary_and_shows_a_move_as_an_insertion():
    moved = OLD.replace(FOX + "\n\n", "").replace(
        "Final words", FOX + "\n\nFinal words")
    word = compare.for_word(diff(moved).doc)
    assert divs(word, "diff-summary") == []
    assert "Moved" not in pf.stringify(word)
    [target] = divs(word, "moved-to")
    [inserted] = spans(target, "insertion")
    assert pf.stringify(inserted) == FOX
    assert inserted.attributes["author"] == "Reviewer Two"


def test_the_json_summary_lists_every_change():
    result = diff(OLD.replace("lazy dog", "sleepy dog"))
    old = SimpleNamespace(label="v1", commit="a" * 40)
    new = SimpleNamespace(label="working tree", commit=None)
    data = json.loads(compare.to_json(result, old, new, "Reviewer Two",
                                      "2026-03-01T10:00:00Z"))
    assert data["old"] == {"revision": "v1", "commit": "a" * 40}
    assert data["new"] == {"revision": "working tree", "commit": None}
    assert data["summary"] == result.summary
    assert data["changes"] == [{"id": "change-1", "section": "Introduction",
                                "kind": "text replaced", "old": "lazy",
                                "new": "sleepy"}]


@pytest.mark.parametrize(("inline", "token"), [
    (pf.Str("word"), ("w", "word")),
    (pf.Math("x^2", format="InlineMath"), ("Math", "x^2")),
    (pf.Code("f()"), ("Code", "f()")),
])
def test_math_and_code_are_compared_whole(inline, token):
    [found] = compare.tokens_of([inline])
    assert found.key == token


def test_a_citation_is_one_token_keyed_by_key_and_locator():
    doc = read("Text [@vu2021, p. 2] and [@vu2021, p. 2] and [@vu2021, p. 3].")
    cites = [t for t in compare.tokens_of(doc.content[0].content)
             if t.key[0] == "cite"]
    assert len(cites) == 3
    assert cites[0].key == cites[1].key != cites[2].key
