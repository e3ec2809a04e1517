"""The pre-scan (pubbuild/prescan.py), in-process: each limit refuses one
level past it with one line naming the construct, the line and the limit,
and accepts the limit itself; code and math do not count; real
manuscripts stay far below every limit."""

from __future__ import annotations

import pytest

from conftest import ROOT
from pubbuild import prescan
from pubbuild.diagnostics import BuildError

HEAD = "---\ntitle: T\n---\n\nSome text.\n\n"  # what follows starts on line 7


def refusal(text: str) -> str:
    """The one line a build would print for `text` as paper.md."""
    with pytest.raises(BuildError) as caught:
        prescan.check(text, "paper.md")
    return str(caught.value)


def emphasis(n: int) -> str:
    """`n` levels of emphasis, `*` and `_` by turns (`**` would be strong)."""
    marks = ["*_"[i % 2] for i in range(n)]
    return ("".join(f"{mark}a " for mark in marks) + "b"
            + "".join(f" a{mark}" for mark in reversed(marks)))


def yaml_aliases(n: int) -> str:
    """A metadata block whose `n` aliases each repeat a 100-value anchor."""
    return (f"---\nanchor: &a [{', '.join(['x'] * 99)}]\n"
            f"copies: [{', '.join(['*a'] * n)}]\n...\n")


# construct: (its limit, text n deep, the line at limit + 1). Each case
# starts on line 7; indented ones cross their limit on the 17th line.
LIMITS = {
    "brackets": (prescan.BRACKETS, lambda n: "[" * n + "a" + "]" * n,
                 "paper.md:7: square brackets nested 7 deep (the limit is 6; a [ "
                 "left open counts, \\[ does not)"),
    "brackets left open": (prescan.BRACKETS, lambda n: "[a " * n,
                           "paper.md:7: square brackets nested 7 deep (the limit "
                           "is 6; a [ left open counts, \\[ does not)"),
    "spans": (prescan.BRACKETS, lambda n: "[a " * (n - 1) + "<span>b",
              "paper.md:7: <span>s and square brackets nested 7 deep (the limit "
              "is 6)"),
    "brackets in spans": (prescan.BRACKETS, lambda n: "<span>" * 2 + "[a " * (n - 2),
                          "paper.md:7: <span>s and square brackets nested 7 deep "
                          "(the limit is 6)"),
    "link targets": (prescan.LINK_TARGETS, lambda n: "[a](b" * n,
                     "paper.md:7: link targets `](` left open or nested 17 deep "
                     "(the limit is 16)"),
    "backticks": (prescan.BACKTICKS, lambda n: "a " + "`" * n + " b",
                  "paper.md:7: 17 backticks left unmatched in one paragraph (the "
                  "limit is 16; write \\` for a literal one)"),
    "comments": (prescan.HTML_LEFT_OPEN, lambda n: "x " + "<!--" * n,
                 "paper.md:7: 17 raw HTML comments `<!--` left open (the limit is "
                 "16)"),
    "tags": (prescan.HTML_LEFT_OPEN, lambda n: "x " + "<a" * n,
             "paper.md:7: 17 raw HTML tags `<` left without their `>` (the limit "
             "is 16; write \\< for a literal one)"),
    "block quotes": (prescan.BLOCK_QUOTES, lambda n: "> " * n + "a",
                     "paper.md:7: block quotes nested 17 deep (the limit is 16)"),
    "block quotes by line": (prescan.BLOCK_QUOTES,
                             lambda n: "".join(">" * i + " a\n>\n" for i in
                                               range(1, n + 1)),
                             "paper.md:39: block quotes nested 17 deep (the limit "
                             "is 16)"),
    "lists": (prescan.LISTS, lambda n: "".join("  " * i + "- a\n" for i in range(n)),
              "paper.md:23: lists nested 17 deep (the limit is 16)"),
    "lists on one line": (prescan.LISTS, lambda n: "1. " * n + "a",
                          "paper.md:7: lists nested 17 deep (the limit is 16)"),
    "fenced divs": (prescan.DIVS, lambda n: "::: x\n" * n + "a\n" + ":::\n" * n,
                    "paper.md:23: fenced divs `:::` nested 17 deep (the limit is "
                    "16)"),
    "raw HTML": (prescan.HTML_ELEMENTS,
                 lambda n: "<div>\n" * n + "\na\n\n" + "</div>\n" * n,
                 "paper.md:23: raw HTML elements nested 17 deep (the limit is 16)"),
    "emphasis": (prescan.EMPHASIS, emphasis,
                 "paper.md:7: emphasis nested 17 deep (the limit is 16)"),
    "YAML aliases": (prescan.YAML_REPEATS // 100, yaml_aliases,
                     "paper.md:9: YAML aliases repeat 10,100 values (the limit is "
                     "10,000)"),
}


@pytest.mark.parametrize("construct", LIMITS)
def test_each_limit_refuses_one_past_it_and_accepts_it(construct):
    limit, make, line = LIMITS[construct]
    prescan.check(HEAD + make(limit) + "\n", "paper.md")  # builds as before
    assert refusal(HEAD + make(limit + 1) + "\n") == line


def test_the_line_is_where_the_limit_was_crossed():
    text = HEAD + ("A paragraph [that\nruns [over [three\n"
                   "lines [and [opens [too [many.\n")
    # Seven open on line 9, the paragraph's third: that is the line named.
    assert refusal(text) == ("paper.md:9: square brackets nested 7 deep (the limit "
                             "is 6; a [ left open counts, \\[ does not)")


def test_brackets_left_open_end_with_their_paragraph():
    """Pandoc reads inlines a paragraph at a time: six stray brackets in
    each of a hundred paragraphs are six deep, not six hundred."""
    prescan.check(HEAD + ("Intervals [0, 1 [1, 2 [2, 3 [3, 4 [4, 5 [5, 6.\n\n"
                          * 100), "paper.md")


@pytest.mark.parametrize("code", [
    "```\n" + "[" * 100 + "\n```\n",
    "~~~~ {.python}\n" + "[" * 100 + "\n~~~\n~~~~\n",
    "- item\n\n  ```\n  " + "[" * 100 + "\n  ```\n",
    "> ```\n> " + "[" * 100 + "\n> ```\n",
    "    " + "[" * 100 + "\n    " + "<div>" * 100 + "\n",
    "An unclosed fence is code to the end, for pandoc too:\n\n```\n" + "[" * 100,
    "A code span `" + "[" * 100 + "` in a sentence.",
    "Double ``" + "[" * 100 + " ` " + "<div>" * 50 + "`` backticks.",
    "Math $" + "[" * 100 + "$ and $$" + "(" * 100 + "$$ display.",
    "Escaped " + "\\[" * 100 + " brackets and \\` backticks " * 50,
])
def test_code_math_and_escapes_do_not_count(code):
    """Pandoc reads no Markdown inside code or math: a code block full of
    brackets, or a formula, builds as before."""
    prescan.check(HEAD + code + "\n", "paper.md")


def test_the_front_matter_is_read_too():
    """Pandoc reads each metadata value as Markdown, so a title can be as
    pathological as a paragraph."""
    text = "---\ntitle: '" + "[" * 7 + "a'\n---\n\nText.\n"
    assert refusal(text).startswith("paper.md:2: square brackets nested 7 deep")


def test_what_pandoc_reads_quickly_is_let_through():
    """Emphasis that never closes, brackets that close before they open,
    HTML elements that never nest (void ones, `<p>`, names that are not
    HTML) and `<` that a `>` in a code block ends are all quick for pandoc:
    refusing them would refuse real text for nothing."""
    for text in ["_a " * 1000, "a]" * 1000, "<p>" * 1000, "<br>" * 1000,
                 "List<T> " * 1000, "<b>bold\n\n" * 1000,
                 "x <y\n\n```\n>\n```\n\n" * 1000]:
        prescan.check(HEAD + text + "\n", "paper.md")


@pytest.mark.parametrize("path", [
    ROOT / "manuscript" / "article.md",
    *sorted((ROOT / "tests" / "manuscripts").glob("*/*.md"))],
    ids=lambda path: path.relative_to(ROOT).as_posix())
def test_real_manuscripts_stay_far_below_every_limit(path):
    """A limit real writing reaches would refuse a real article: ours and
    the test manuscripts use at most half of each."""
    used = prescan.measure(path.read_text(encoding="utf-8"))
    limits = prescan.limits()
    assert {kind: n for kind, n in used.items() if n > limits[kind] // 2} == {}
