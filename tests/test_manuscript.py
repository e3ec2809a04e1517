"""The manuscript is the published article, word for word.

Compared with the extracted text in ../shared/seeds/ (the project's raw
material, laid beside the repository for every session and CI run).
"""

from __future__ import annotations

import re

import panflute as pf
import pytest

from conftest import ROOT
from pubbuild import pandoc

SEED = ROOT.parent / "shared" / "seeds" / "000_c071ab263112eb36.txt"
MANUSCRIPT = ROOT / "manuscript" / "article.md"

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="seed text not laid out")


def seed_lines() -> list[str]:
    return SEED.read_text(encoding="utf-8").split("\n")


def words(text: str) -> list[str]:
    # Markdown link syntax and heading marks are markup, not the authors' words.
    text = text.replace("](#)", " ").replace("[", " ").replace("#", " ")
    return text.split()


def body_words(markdown: str) -> list[str]:
    return words(markdown.split("\n---\n", 1)[1])


def test_every_word_in_order():
    lines = seed_lines()
    start = lines.index("Theoretical Construct")
    end = lines.index("References")
    seed = words(" ".join(lines[start:end]))
    ours = body_words(MANUSCRIPT.read_text(encoding="utf-8"))
    # Nothing missing, added or reworded; the cut citation "([Vu, 2021,
    # p.](#)" … "[1](#))" reads the same once its link markup is set aside.
    assert ours == seed
    assert len(ours) > 4000


def test_no_paragraph_is_cut_mid_sentence():
    doc = pandoc.read_markdown(MANUSCRIPT)
    paragraphs = [pf.stringify(b).strip() for b in doc.content
                  if isinstance(b, pf.Para)]
    # Every paragraph ends as the authors ended it: no page-end cuts remain.
    cut = [p[-40:] for p in paragraphs if not re.search(r"[.?!)\"”]$", p)]
    assert cut == []
    assert len(paragraphs) == 18  # the article's paragraphs, once rejoined


def test_heading_structure():
    doc = pandoc.read_markdown(MANUSCRIPT)
    headings = [(h.level, pf.stringify(h)) for h in doc.content
                if isinstance(h, pf.Header)]
    top = [text for level, text in headings if level == 1]
    assert top == ["Theoretical Construct", "Methodology", "Literature Review",
                   "Evolving Trends in the Korean Peninsula",
                   "Examining the Peace Efforts during Years 2018 to 2021 and "
                   "Future Prospects",
                   "Is Peace Deal between North Korea and USA Possible?",
                   "Conclusion"]
    third = [text for level, text in headings if level == 3]
    assert third == ["China", "Russia", "South Korea (Republic of Korea -ROK)",
                     "Japan"]
    assert len(headings) == 19


def test_front_matter_is_the_published_record():
    lines = seed_lines()
    doc = pandoc.read_markdown(MANUSCRIPT)
    meta = doc.get_metadata()
    assert meta["title"] == lines[4].strip()
    abstract = lines[13].removeprefix("Abstract: ").strip().strip("*")
    # pandoc's smart typography curls the apostrophe in "doesn't".
    assert meta["abstract"].strip().replace("\u2019", "'") == abstract
    keywords = [k.strip() for k in lines[15].removeprefix("Key Words:").split(",")]
    assert meta["keywords"] == [k for k in keywords if k]
    assert [a["name"] for a in meta["author"]] == ["Waseem Ishaque",
                                                   "Mudassir Mukhtar"]
    assert meta["author"][0]["email"] in lines[9]
    assert [a["note-mark"] for a in meta["author"]] == ["*", "†"]
    assert meta["lang"] == "en-US"
    # Nothing the source does not give.
    for invented in ("date", "doi", "journal", "volume", "issue"):
        assert invented not in meta
