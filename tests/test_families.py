"""Family manuscripts: small papers written the way authors from other
ecosystems write them, built in every format with "no words lost".

- `manuscripts/joss/paper.md`: an Open Journals (JOSS) paper — `tags`,
  `affiliation: "1, 2"`, `equal-contrib`, `corresponding`, `ror`, a date
  written "29 January 2021", `\\label{fig:…}` in a caption, `\\autoref{…}`,
  a labelled display equation, an empty `# References` at the end;
- `manuscripts/quarto/index.md`: a Quarto manuscript — `name: {given,
  family}`, `affiliations` by `ref`, `date: last-modified`, `abstract`,
  `keywords`, callouts, `fig-alt`, `@fig-`/`@tbl-`/`@sec-` references and a
  raw HTML block;
- `manuscripts/crossref/paper.md`: a pandoc-crossref paper — `{#fig:…}`,
  `{#tbl:…}`, `{#eq:…}`, `{#sec:…}`, `[@fig:a; @fig:b]`, `-@fig:…`,
  `@Fig:…`, an ordered list from 0, a definition list, a line block, a raw
  `{=comment}` block and parentheses that are not citations ("(Summer
  2020)").

What a reader would notice if these failed: a sentence, a caption, a table
cell or a list item of their paper missing from the PDF, the web page, the
e-book or the Word file; or a web page or e-book a validator rejects.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import panflute as pf
import pytest

from conftest import ROOT, run_build
from outputs import epub_files, html_text, pdf_text
from pubbuild import pandoc

HERE = ROOT / "tests" / "manuscripts"
FAMILIES = {
    "joss": HERE / "joss" / "paper.md",
    "quarto": HERE / "quarto" / "index.md",
    "crossref": HERE / "crossref" / "paper.md",
}
FORMATS = ("pdf", "html", "epub", "docx")

# -- the words of a manuscript's body ---------------------------------------
# Read by the build's own reader (`pandoc.parse_markdown`: pandoc Markdown
# without `smart`), so that what counts as prose is what pandoc decides, not
# a second Markdown parser here. A "word" is a run of at least four letters
# (digits, punctuation and short words are too ambiguous to look for in a
# PDF's extracted text), compared case-folded (a style may set headings in
# capitals or small capitals). Not counted, because no output is expected to
# print them as written:
# - the front matter (title, authors, abstract: the title block's business);
# - code, inline or block, math, and raw blocks and inlines (`{=html}`,
#   `{=comment}`, and the TeX `\label{…}`/`\autoref{…}` of a JOSS paper);
# - citations, as a whole: keys, `@fig:…`/`@sec-…` cross-references (pandoc
#   reads them as citations) and the prefixes and locators inside `[…]`;
# - attribute values (`{#fig-x fig-alt="…"}`: ids, classes, alt text) and a
#   pandoc-crossref label pandoc leaves as text after display math
#   (`$$…$$ {#eq:x}`);
# - URLs and e-mail addresses.

WORD = re.compile(r"[^\W\d_]{4,}")
_LABEL = re.compile(r"^\{#[^}\s]*\}$")
_ADDRESS = re.compile(r"://|^www\.|@")


def body_words(manuscript: Path) -> set[str]:
    """The words of the manuscript's body, case-folded (see above)."""
    doc = pandoc.parse_markdown(manuscript.read_text(encoding="utf-8"), manuscript)
    parts: list[str] = []
    last: list[pf.Str] = []

    def collect(elem, _doc):
        if (isinstance(elem, pf.Str) and not _inside_citation(elem)
                and not (_LABEL.match(elem.text) or _ADDRESS.search(elem.text))):
            # A word goes on only into the Str right after it ("Lock"
            # "-keeper"); a term and its definition, two cells, a caption
            # and the next paragraph are separate however they nest.
            glued = bool(last) and elem.prev is last[0]
            parts.append(elem.text if glued else " " + elem.text)
            last[:] = [elem]

    for block in doc.content:  # the body only: doc.metadata is not walked
        block.walk(collect)
    return words("".join(parts))


def _inside_citation(elem: pf.Element) -> bool:
    while elem is not None:
        if isinstance(elem, pf.Cite):
            return True
        elem = elem.parent
    return False


def words(text: str) -> set[str]:
    """The words of an output's text, folded as the manuscript's are:
    compatibility forms (the PDF's "ﬁ" ligature) and soft hyphens undone."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return {word.casefold() for word in WORD.findall(text)}


# -- the outputs' text, as a reader gets it ---------------------------------

def output_text(path: Path) -> str:
    if path.suffix == ".pdf":
        # Lines joined where WeasyPrint hyphenated a word (outputs.pdf_text).
        return pdf_text(path)
    if path.suffix == ".html":
        return html_text(path.read_text(encoding="utf-8"))
    if path.suffix == ".epub":
        return " ".join(html_text(body) for name, body in
                        sorted(epub_files(path).items()) if name.endswith(".xhtml"))
    if path.suffix == ".docx":
        # What Word shows, as text: pandoc's own DOCX reader.
        return subprocess.run(
            [pandoc.pandoc_path(), "--from", "docx", "--to", "plain",
             "--wrap=none", str(path)],
            capture_output=True, text=True, check=True).stdout
    raise AssertionError(f"no reader for {path.name}")


# -- the builds, once per family and command --------------------------------

@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """`build(family, *command)`: the output folder of `build.py --manuscript
    M --out OUT COMMAND`, built once per module; a failed build fails the
    test with the build's one-line error."""
    done: dict[tuple, Path | str] = {}

    def make(family: str, *command: str) -> Path:
        key = (family, *command)
        if key not in done:  # a failure is kept too: one build, one verdict
            out = tmp_path_factory.mktemp(f"{family}-{'-'.join(command) or 'default'}")
            result = run_build("--manuscript", str(FAMILIES[family]), "--out",
                               str(out), *command)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            done[key] = out if result.returncode == 0 else (
                f"{family}: build.py {' '.join(command) or '(pdf, html, epub)'} "
                f"failed: {lines[-1] if lines else result.returncode}")
        if isinstance(done[key], str):
            pytest.fail(done[key], pytrace=False)
        return done[key]

    return make


def output(build, family: str, fmt: str) -> Path:
    stem = FAMILIES[family].stem
    if fmt == "docx":  # not made by default: asked for by name
        return build(family, "docx") / f"{stem}.docx"
    return build(family) / f"{stem}.{fmt}"


# -- the tests ---------------------------------------------------------------

# Words the extractor must find (prose in headings, paragraphs, captions,
# list items, table cells, callouts, line blocks, definition lists) and
# words it must not (code, citation keys, labels, raw blocks, alt text):
# without this, "no words lost" could pass on an empty word list.
EXPECTED = {
    "joss": ({"summary", "statement", "acknowledgements", "references",
              "harbour", "settles", "lunar", "teaching"},
             {"autoref", "label", "tidewright", "reconcile", "pugh",
              "hartwell"}),
    "quarto": ({"introduction", "permission", "inscriptions", "overcast",
                "limestone", "median", "grey", "granite"},
               {"armitage", "okafor", "intro", "interactive", "squares",
                "callout", "note"}),
    "crossref": ({"january", "summer", "calibrate", "crossing", "pram",
                  "tally", "doubt", "station", "infrared", "platforms"},
                 {"marchetti", "okwuosa", "reviewer", "supplement", "alpha",
                  "intro"}),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_body_words_are_the_prose_not_the_markup(family):
    found = body_words(FAMILIES[family])
    present, absent = EXPECTED[family]
    assert len(found) >= 80, sorted(found)
    assert present <= found, f"prose not read: {sorted(present - found)}"
    assert not absent & found, f"markup read as prose: {sorted(absent & found)}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("family", FAMILIES)
def test_no_words_lost(build, family, fmt):
    expected = body_words(FAMILIES[family])
    path = output(build, family, fmt)
    missing = expected - words(output_text(path))
    assert not missing, (
        f"{family}: {len(missing)} of {len(expected)} words of "
        f"{FAMILIES[family].relative_to(ROOT)} missing from {path.name}: "
        f"{', '.join(sorted(missing))}")


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_html_passes_the_nu_checker(build, family, vnu):
    errors, _ = vnu(output(build, family, "html"))
    assert errors == [], f"{family}:\n" + "\n".join(errors)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_epub_passes_epubcheck(build, family, epubcheck):
    summary, messages = epubcheck(output(build, family, "epub"))
    assert "0 fatals / 0 errors / 0 warnings" in summary, f"{family}:\n{messages}"
