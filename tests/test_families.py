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
  2020)");
- `manuscripts/mixed/paper.md`: the three cross-reference syntaxes in one
  paper — Quarto's `{#fig-x}`/`@fig-x`, pandoc-crossref's `{#fig:x}`,
  `[@fig-a; @fig:b]`, `-@fig:x`, and LaTeX's `\\label`/`\\autoref`/`\\eqref`
  — with subfigures, a table, two equations and a listing: every number
  checked in every format.

What a reader would notice if these failed: a sentence, a caption, a table
cell or a list item of their paper missing from the PDF, the web page, the
e-book or the Word file; or a web page or e-book a validator rejects.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
import zipfile
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
    "mixed": HERE / "mixed" / "paper.md",
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
        # What Word shows, as text: pandoc's own DOCX reader, through HTML
        # (its plain writer prints a figure as its image's alt text, without
        # the caption, which Word shows below the picture).
        return html_text(subprocess.run(
            [pandoc.pandoc_path(), "--from", "docx", "--to", "html",
             "--wrap=none", str(path)],
            capture_output=True, text=True, check=True).stdout)
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
    "mixed": ({"colonised", "breakwaters", "northern", "southern", "june",
               "exponentially", "residual", "boats"},
              {"autoref", "eqref", "label", "haverkamp", "mendes",
               "varepsilon"}),
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


# -- numbered cross-references, in every format -------------------------------
# The mixed paper's references as a reader reads them: Quarto's, pandoc-
# crossref's and LaTeX's, resolved to the same numbers in every output.
MIXED_SENTENCES = (
    "Nest sites are mapped in Figure 1 and the yearly totals are in Table 1; "
    "Figure 2 and Figure 3 show how the colonies changed, and Figures 1 and 2 "
    "belong side by side.",
    "The growth model is Equation 1 and its residual (2); Section 2 describes "
    "the survey and Section 3 its limits.",
    "The two panels of Figure 4 compare the northern and southern arms; the "
    "southern one, Figure 4b, shows the gap left by the storm.",
    "The counting script is Listing 1, after the protocol of Mendes (2016).",
    "as the dip in 2 suggests",
)
MIXED_CAPTIONS = (
    "Figure 1: Map of the three breakwaters", "Figure 2: Growth of the colonies",
    "Figure 3: Chicks fledged per nest", "(a) Northern arm.", "(b) Southern arm.",
    "Figure 4: The two arms of the eastern breakwater.",
    "Table 1: Nests counted each June.",
    "Listing 1: Counting nests from the survey sheet.",
    "1 Introduction", "2 Method", "3 Limits",
)


def _reader_text(path: Path) -> str:
    # A no-break space joins "Figure" and its number: a space to a reader.
    # WeasyPrint's hyphen at a line end is undone by output_text already.
    return " ".join(output_text(path).replace("\u00a0", " ").split())


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ("pdf", "html", "epub"))
def test_every_reference_and_caption_has_its_number(build, fmt):
    text = _reader_text(output(build, "mixed", fmt))
    missing = [part for part in MIXED_SENTENCES + MIXED_CAPTIONS if part not in text]
    assert not missing, f"mixed.{fmt}: not as a reader should see it: {missing}"
    leftovers = [mark for mark in ("??", "fig:", "@fig", "\\label", "\\autoref",
                                   "\\eqref") if mark in text]
    assert not leftovers, f"mixed.{fmt}: markup printed as text: {leftovers}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ("html", "epub"))
def test_references_link_to_their_targets(build, fmt):
    """"Figure 1" is a link to the figure; in the EPUB, to the chapter file
    that holds it (EPUBCheck checks that the fragment exists)."""
    path = output(build, "mixed", fmt)
    markup = path.read_text(encoding="utf-8") if fmt == "html" else "".join(
        epub_files(path).values())
    links = re.findall(r'<a href="([^"]*)" class="xref"[^>]*>([^<]*)</a>', markup)
    targets: dict[str, str] = {}  # each target's first reference
    for href, text in links:
        targets.setdefault(href.rpartition("#")[2], text)
    assert targets.get("fig-map") == "Figure\u00a01", links
    assert targets.get("fig-south") == "Figure\u00a04b", links
    assert targets.get("eq:resid") == "(2)", links
    assert targets.get("sec:limits") == "Section\u00a03", links
    for ident in ("fig-map", "fig:growth", "fig:chicks", "fig-south", "tbl-totals",
                  "eq-growth", "eq:resid", "lst-count", "sec:method", "sec:limits"):
        assert f'id="{ident}"' in markup, f"{fmt}: no element with id {ident}"


@pytest.mark.slow
def test_equations_are_numbered_in_their_alt_text(build):
    """A reader who hears the formula hears its number: MathML `alttext` in
    the web page and e-book, the SVG's alt (tagged PDF) in the print HTML."""
    html = output(build, "mixed", "html").read_text(encoding="utf-8")
    assert 'alttext="Equation 1: N(t) = N_0 \\, e^{r t}"' in html
    assert 'alttext="Equation 2: \\varepsilon_t = N_t - \\hat{N}_t"' in html
    epub = "".join(epub_files(output(build, "mixed", "epub")).values())
    assert 'alttext="Equation 2: \\varepsilon_t = N_t - \\hat{N}_t"' in epub


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.mark.slow
def test_the_word_file_numbers_by_fields(build):
    """Word shows the same numbers, and they are Word's own: each caption
    number a SEQ field in a bookmark, each reference a REF field to one, so
    "Update fields" renumbers after the author inserts a figure in Word."""
    from lxml import etree

    with zipfile.ZipFile(output(build, "mixed", "docx")) as word:
        root = etree.fromstring(word.read("word/document.xml"))
    paragraphs = [" ".join("".join(t.text or "" for t in p.iter(f"{W}t"))
                           .replace("\u00a0", " ").split())
                  for p in root.iter(f"{W}p")]
    text = " ".join(paragraphs)
    missing = [part for part in MIXED_SENTENCES + MIXED_CAPTIONS if part not in text]
    assert not missing, f"mixed.docx: not as a reader should see it: {missing}"
    instructions = [" ".join(i.text.split()) for i in root.iter(f"{W}instrText")]
    sequences = [i.split()[1] for i in instructions if i.startswith("SEQ ")]
    assert sorted(sequences) == sorted(["Figure"] * 4 + ["Table", "Listing"]
                                       + ["Equation"] * 2), instructions
    bookmarks = {b.get(f"{W}name") for b in root.iter(f"{W}bookmarkStart")}
    references = [i.split()[1] for i in instructions if i.startswith("REF ")]
    # Every reference of the paper's text (14 of them) is a field, and each
    # names a bookmark that exists.
    assert len(references) == 14, instructions
    assert set(references) <= bookmarks, set(references) - bookmarks


@pytest.mark.slow
def test_the_jats_types_every_cross_reference(build):
    """JATS readers (and the journal's converters) link by `rid` and type
    by `ref-type`: each names an element of its kind, with its label."""
    from lxml import etree

    out = build("mixed", "jats")
    tree = etree.parse(str(out / "paper.jats.xml"))
    elements = {e.get("id"): e for e in tree.iter() if e.get("id")}
    # A listing is a fig (fig-type="listing"); subfigures a fig-group.
    kinds = {"fig": ("fig", "fig-group"), "table": ("table-wrap",),
             "disp-formula": ("disp-formula",), "sec": ("sec",)}
    # Not the citations (bibr) nor the reference list's links back to them.
    xrefs = [x for x in tree.iter("xref") if x.get("ref-type") in kinds]
    assert len(xrefs) == 14, [x.get("alt") for x in xrefs]
    for xref in xrefs:
        target = elements.get(xref.get("rid"))
        assert target is not None, f"xref to a missing id: {xref.get('rid')}"
        assert target.tag in kinds[xref.get("ref-type")], etree.tostring(xref)
    labels = [" ".join("".join(label.itertext()).split())
              for label in tree.iter("label")]
    for label in ("Figure 1", "Figure 4", "(a)", "(b)", "Table 1", "(1)", "(2)",
                  "Listing 1"):
        assert label in [text.replace("\u00a0", " ") for text in labels], labels
