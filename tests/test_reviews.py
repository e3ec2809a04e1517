"""reviews.md read into reviewers, comments, replies and pointers
(pubbuild.reviews), and passages found in laid-out lines
(pubbuild.locate), in-process."""

from __future__ import annotations

import panflute as pf
import pytest

from pubbuild import locate, pandoc, reviews
from pubbuild.diagnostics import BuildError, Reporter, SourceText


def parse(text: str) -> reviews.Reviews:
    doc = pandoc.parse_markdown(text, None)
    return reviews.parse(doc, Reporter(SourceText("reviews.md", text)))


def problem(text: str) -> str:
    with pytest.raises(BuildError) as caught:
        parse(text)
    return str(caught.value)


LETTER = """\
---
old: v1
---

Dear Editor,

thank you.

# Editor

> Please shorten the abstract.

Shortened.

> changed: "a shorter abstract"

# Reviewer 1

> First comment.

First reply, see [change 3] and [changes 4, 5].

1. A numbered list inside a reply.
2. Still the reply.

> Second comment, with no reply.

# Reviewer 2

1. Numbered comment.

Its reply.

2. Another.

> changed: "one" and "two"
"""


def test_reviewers_comments_and_labels():
    parsed = parse(LETTER)
    assert [r.prefix for r in parsed.reviewers] == ["E", "R1", "R2"]
    assert [c.label for c in parsed.comments] == ["E1", "R1.1", "R1.2", "R2.1",
                                                   "R2.2"]
    assert pf.stringify(pf.Div(*parsed.opening)).split() == [
        "Dear", "Editor,", "thank", "you."]


def test_replies_and_pointers():
    editor, first, second, numbered, another = parse(LETTER).comments
    assert [(p.kind, p.value) for p in editor.pointers] == [
        ("quote", "a shorter abstract")]
    # A pointer is not part of the reply's text.
    assert len(editor.reply) == 1
    assert [(p.kind, p.value) for p in first.pointers] == [
        ("change", 3), ("change", 4), ("change", 5)]
    # A reviewer who comments in block quotes may answer with a numbered list.
    assert len(first.reply) == 2
    assert second.reply == [] and second.pointers == []
    assert numbered.numbered and len(numbered.reply) == 1
    assert another.reply == []
    assert [p.value for p in another.pointers] == ["one", "two"]


def test_lines_are_the_sources():
    parsed = parse(LETTER)
    lines = LETTER.splitlines()
    for comment in parsed.comments:
        assert comment.line is not None
        assert any(word in lines[comment.line - 1] for word in (
            "comment", "Comment", "abstract", "Another"))
    first = parsed.comments[1]
    assert lines[first.reply_line - 1].startswith("First reply")


@pytest.mark.parametrize(("text", "message"), [
    ("Dear Editor.\n", "reviews.md:1: no reviewer headings (`# Reviewer 1`): "
     "nothing to respond to"),
    ("# Reviewer 1\n\nToo early.\n",
     "reviews.md:3: a reply before any comment of “Reviewer 1” (a comment is a "
     "block quote or a numbered item)"),
    ("# Reviewer 1\n\n> A comment.\n\n> changed: no quotation marks\n",
     'reviews.md:5: `changed:` wants the new text in quotation marks: > '
     'changed: "the new words"'),
])
def test_malformed(text, message):
    assert problem(text) == message


def test_headings_only_is_no_comments():
    assert problem("# Reviewer 1\n\n# Reviewer 2\n") == (
        "reviews.md:1: no comments: a comment is a block quote or a numbered "
        "item under a reviewer's heading")


# -- finding passages in lines ---------------------------------------------------

def test_a_passage_found_across_a_hyphenated_line_break():
    lines = [locate.Line(1, 1, "The negotiations were stalled, and the nego-"),
             locate.Line(1, 2, "tiators blamed each other."),
             locate.Line(2, 1, "The negotiators met again.")]
    finder = locate.Finder(lines)
    start = finder.find("the negotiators blamed")
    assert finder.at(start) == lines[0]
    assert finder.at(start + len(locate.letters("the nego"))) == lines[1]
    # Looked for from the last one found on, in document order: after page
    # 2's "negotiators", the next one is not the first page's again.
    assert finder.at(finder.find("The negotiators met")) == lines[2]
    assert finder.at(finder.find("negotiators")) == lines[2]
    # ... unless there is none after it.
    assert finder.at(finder.find("negotiations were stalled")) == lines[0]
    assert finder.find("not there at all") is None
    assert finder.find("— 12 —") is None   # no letters: nothing to find
