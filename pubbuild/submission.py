"""Journal submission: the profile check, anonymisation, the leak scan, JATS
validation and the package.

A journal profile (`journals/<name>.yaml`) states what the journal asks
for; `check` measures the manuscript against it. How words are counted:
the main text is the body's paragraphs and list items, without headings,
the abstract, the reference list, citations, footnotes, and figure and
table captions; a word is a run of characters between spaces that holds a
letter or a digit.

For double-blind review the manuscript is anonymised before citeproc runs:
authors and their notes leave the metadata, an "Acknowledgements" section
leaves the text, and every citation of a work one of the authors wrote is
pointed at a stand-in entry "Author (year). Details removed for peer
review.", so citeproc renders "(Author, 2020, p. 184)" and the reference
list carries the stand-in. `scan` then looks for the authors' names and
e-mail addresses in every file of the anonymised set, PDF streams
decompressed and PDF text extracted.

This module must not know about the command line.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf
import yaml

from pubbuild.diagnostics import BuildError
from pubbuild.paths import JOURNALS, SCHEMAS

KNOWN = {"name", "words-max", "abstract-words-max", "keywords-min", "keywords-max",
         "title-words-max", "required-sections", "csl", "blind", "anonymise",
         "line-numbers", "docx", "title-page", "meca", "required-statements",
         "mask-self-citations", "journal"}
# spacing: 1.5 is a number to YAML, double a word.
DOCX = {"font": str, "size": (int, float), "spacing": (str, int, float),
        "line-numbers": bool}
TITLE_PAGES = ("separate", "first-page", "none")
# The statements a profile may require, by the names journals' guidelines
# use; all but author contributions are read as the title page reads them.
STATEMENTS = ("funding", "acknowledgements", "conflict-of-interest",
              "data-availability", "code-availability", "author-contributions")
NOT_MAIN_TEXT = (pf.Header, pf.Cite, pf.Note, pf.Caption, pf.Figure, pf.Table)
ACKNOWLEDGEMENTS = re.compile(r"^acknowledge?ments?$", re.I)


@dataclass
class Profile:
    path: Path
    settings: dict

    def get(self, key: str, default=None):
        return self.settings.get(key, default)

    @property
    def anonymised(self) -> bool:
        """Whether an anonymised manuscript goes in (`anonymise:`, or its
        older name `blind:`); yes unless the profile says no."""
        return bool(self.settings.get("anonymise", self.settings.get("blind", True)))

    @property
    def docx(self) -> dict:
        """The Word files' settings, as `wordref.reference_docx` takes them;
        `line-numbers:` may also stand at the top level."""
        settings = dict(self.settings.get("docx") or {})
        numbered = settings.pop("line-numbers", self.settings.get("line-numbers"))
        settings["line_numbers"] = bool(numbered)
        if "spacing" in settings:
            settings["spacing"] = str(settings["spacing"])
        return settings

    @property
    def title_page(self) -> str:
        """separate (title-page.pdf and .docx), first-page (the manuscript's
        first page carries it) or none."""
        return self.settings.get("title-page") or "separate"

    @property
    def meca(self) -> bool:
        return bool(self.settings.get("meca"))


@dataclass
class Requirement:
    name: str
    measured: str
    limit: str
    ok: bool
    kind: str = "limit"  # or "statement": one of STATEMENTS

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"  {mark}  {self.name}: {self.measured} (limit: {self.limit})"

    @property
    def failure(self) -> str:
        """As an error message puts it."""
        return f"{self.name} {self.measured} (limit: {self.limit})"


def load_profile(name: str | None) -> Profile:
    """A profile by name (journals/NAME.yaml) or path; default: default."""
    name = name or "default"
    path = Path(name) if name.endswith((".yaml", ".yml")) else JOURNALS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in JOURNALS.glob("*.yaml")))
        raise BuildError(f"no journal profile {name!r} (known: {known}; or a path "
                         "to a .yaml file)")
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BuildError(f"profile is not valid YAML: {getattr(exc, 'problem', exc)}",
                         path, mark.line + 1 if mark else None) from None
    unknown = sorted(set(settings) - KNOWN)
    if unknown:
        raise BuildError(f"profile has unknown settings: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(KNOWN))})", path)
    problem = _problem(settings)
    if problem:
        raise BuildError(f"profile: {problem}", path)
    return Profile(path, settings)


def _problem(settings: dict) -> str | None:
    """What is wrong with the values of a profile's settings, if anything."""
    from pubbuild.wordref import SPACING

    both = [key for key in ("blind", "anonymise") if key in settings]
    if len(both) == 2 and bool(settings["blind"]) != bool(settings["anonymise"]):
        return (f"anonymise: {str(settings['anonymise']).lower()} and blind: "
                f"{str(settings['blind']).lower()} disagree (blind is the older "
                "name of anonymise: keep one)")
    docx = settings.get("docx")
    if docx is not None:
        if not isinstance(docx, dict):
            return "docx: is not a mapping (font, size, spacing, line-numbers)"
        unknown = sorted(set(docx) - set(DOCX))
        if unknown:
            return (f"docx: has unknown settings: {', '.join(unknown)} "
                    f"(known: {', '.join(DOCX)})")
        for key, kind in DOCX.items():
            if key in docx and (not isinstance(docx[key], kind)
                                or kind is not bool and isinstance(docx[key], bool)):
                return f"docx: {key}: {docx[key]!r} is not a {_kind(kind)}"
        if "size" in docx and not 6 <= docx["size"] <= 72:
            return f"docx: size: {docx['size']} is not a font size in points"
        if "spacing" in docx and str(docx["spacing"]) not in SPACING:
            return (f"docx: spacing: {docx['spacing']!r} is not one of "
                    f"{', '.join(SPACING)}")
        if ("line-numbers" in docx and "line-numbers" in settings
                and bool(docx["line-numbers"]) != bool(settings["line-numbers"])):
            return (f"docx: line-numbers: {str(docx['line-numbers']).lower()} and "
                    "the top-level line-numbers: "
                    f"{str(settings['line-numbers']).lower()} disagree (keep one)")
    if settings.get("title-page", "separate") not in TITLE_PAGES:
        return (f"title-page: {settings['title-page']!r} is not one of "
                f"{', '.join(TITLE_PAGES)}")
    wanted = settings.get("required-statements") or []
    if not isinstance(wanted, list):
        return "required-statements: is not a list"
    unknown = [str(name) for name in wanted if name not in STATEMENTS]
    if unknown:
        return (f"required-statements: unknown {', '.join(unknown)} "
                f"(known: {', '.join(STATEMENTS)})")
    return None


def _kind(kind) -> str:
    return {str: "text", bool: "true or false"}.get(kind, "number")


# -- measuring ---------------------------------------------------------------

def words(text: str) -> int:
    return sum(1 for word in text.split() if any(c.isalnum() for c in word))


def main_text_words(doc: pf.Doc) -> int:
    count = 0

    def visit(blocks):
        nonlocal count
        for block in blocks:
            if isinstance(block, pf.Div) and block.identifier == "refs":
                continue
            if isinstance(block, NOT_MAIN_TEXT):
                continue
            if isinstance(block, pf.Para | pf.Plain):
                count += words(_text_without(block))
            elif hasattr(block, "content") and not isinstance(block, pf.CodeBlock):
                visit([b for b in _children(block) if isinstance(b, pf.Block)])

    visit(doc.content)
    return count


def _children(block) -> list:
    if isinstance(block, pf.BulletList | pf.OrderedList):
        return [b for item in block.content for b in item.content]
    if isinstance(block, pf.DefinitionList):
        return [b for item in block.content for d in item.definitions
                for b in d.content]
    return list(block.content)


def _text_without(block) -> str:
    """A block's text without citations and footnotes."""
    parts = []
    for elem in block.content:
        if isinstance(elem, pf.Cite | pf.Note):
            continue
        if isinstance(elem, pf.Span) and "citation" in elem.classes:
            continue
        parts.append(pf.stringify(elem))
    return "".join(parts)


def check(profile: Profile, doc: pf.Doc, csl: Path) -> list[Requirement]:
    """Each requirement the profile states, measured on the finished AST."""
    meta = doc.get_metadata(default={})
    found: list[Requirement] = []

    def limit(name, measured, maximum=None, minimum=None, unit=""):
        if maximum is None and minimum is None:
            return
        ok = (maximum is None or measured <= maximum) and (
            minimum is None or measured >= minimum)
        bounds = " to ".join(f"{v:,}" for v in (minimum, maximum) if v is not None)
        if minimum is None:
            bounds = f"at most {maximum:,}"
        elif maximum is None:
            bounds = f"at least {minimum:,}"
        found.append(Requirement(name, f"{measured:,}{unit}", bounds + unit, ok))

    limit("main text words", main_text_words(doc), profile.get("words-max"))
    limit("abstract words", words(str(meta.get("abstract", ""))),
          profile.get("abstract-words-max"))
    keywords = meta.get("keywords") or []
    limit("keywords", len(keywords if isinstance(keywords, list) else [keywords]),
          profile.get("keywords-max"), profile.get("keywords-min"))
    limit("title words", words(str(meta.get("title", ""))),
          profile.get("title-words-max"))
    required = profile.get("required-sections") or []
    if required:
        headings = {pf.stringify(h).strip().lower() for h in _headers(doc)}
        missing = [name for name in required if name.lower() not in headings]
        found.append(Requirement(
            "required sections", "missing " + ", ".join(missing) if missing
            else "all present", ", ".join(required), not missing))
    wanted = profile.get("csl")
    if wanted:
        style = csl.stem
        found.append(Requirement("reference style (CSL)", style, wanted,
                                 style == Path(str(wanted)).stem))
    for name in profile.get("required-statements") or []:
        missing = statement_missing(doc, name)
        found.append(Requirement(f"{name.replace('-', ' ')} statement",
                                 missing or "present", "required", not missing,
                                 "statement"))
    return found


def statement_missing(doc: pf.Doc, name: str) -> str | None:
    """Why the manuscript lacks one of STATEMENTS ("missing", "missing for
    NAME"); None when it has it: what the title page would print."""
    # Here, not at the top: the title page measures with this module.
    from pubbuild import titlepage

    meta = doc.get_metadata(default={})
    if name == "author-contributions":
        authors = [a for a in meta.get("authors-plain") or [] if isinstance(a, dict)]
        without = [str(a.get("name", "?")) for a in authors if not a.get("roles")]
        if not authors or len(without) == len(authors):
            return "missing (no author has CRediT roles:)"
        return f"missing for {', '.join(without)}" if without else None
    for title, keys, heading in titlepage.STATEMENTS:
        if title.lower().replace(" ", "-") == name:
            return (None if titlepage.statement(doc, meta, keys, heading)
                    else "missing")
    raise ValueError(f"no statement {name!r}")


def _headers(doc: pf.Doc) -> list[pf.Header]:
    found = []
    doc.walk(lambda e, d: found.append(e) if isinstance(e, pf.Header) else None)
    return found


# -- anonymising -------------------------------------------------------------

@dataclass
class Authors:
    """What identifies the manuscript's authors."""

    names: list[str]                       # full names as written
    emails: list[str]
    families: list[str] = field(default_factory=list)

    @property
    def needles(self) -> list[str]:
        """Strings that must not appear anywhere in the anonymised set."""
        parts = {part for name in self.names for part in name.split()
                 if len(part) > 2 and part[0].isupper()}
        return sorted(parts | set(self.names) | set(self.emails))


def authors_of(doc: pf.Doc) -> Authors:
    plain = doc.get_metadata("authors-plain", default=[]) or []
    names = [a["name"] for a in plain if a.get("name")]
    emails = [a["email"] for a in plain if a.get("email")]
    return Authors(names, emails, [name.split()[-1] for name in names])


def self_cited(index, authors: Authors) -> dict[str, str]:
    """Keys of works an author of the manuscript wrote -> their year."""
    found = {}
    for entry in index.entries:
        families = {name.lower() for name in entry.families}
        if families & {family.lower() for family in authors.families}:
            found[entry.key] = entry.year
    return found


def anonymise(doc: pf.Doc, masked: dict[str, str]) -> pf.Doc:
    """Remove the authors from a document that has not been through citeproc
    yet, and point self-citations at stand-in entries."""
    for key in ("author", "byline", "author-notes", "correspondence", "authors-plain",
                "acknowledgements", "acknowledgments", "thanks"):
        if key in doc.metadata:
            del doc.metadata[key]
    doc.content = _without_acknowledgements(list(doc.content))
    # Neutral ids: a key like "ishaque2020" would name the author in the
    # links and anchors of the PDF and the Word file.
    stand_ins = {key: f"anonymous-{n}" for n, key in enumerate(sorted(masked), 1)}

    def action(elem, _doc):
        if isinstance(elem, pf.Cite):
            for citation in elem.citations:
                if citation.id in stand_ins:
                    citation.id = stand_ins[citation.id]
        return None

    doc.walk(action)
    references = [pf.MetaMap(**{
        "id": pf.MetaString(stand_ins[key]),
        "type": pf.MetaString("article"),
        "author": pf.MetaList(pf.MetaMap(literal=pf.MetaString("Author"))),
        "issued": pf.MetaString(str(year)),
        "title": pf.MetaString("Details removed for peer review"),
    }) for key, year in sorted(masked.items())]
    if references:
        doc.metadata["references"] = pf.MetaList(*references)
    return doc


def _without_acknowledgements(blocks: list) -> list:
    out, skipping, level = [], False, 0
    for block in blocks:
        if isinstance(block, pf.Header):
            if skipping and block.level <= level:
                skipping = False
            if ACKNOWLEDGEMENTS.match(pf.stringify(block).strip()):
                skipping, level = True, block.level
        if not skipping:
            out.append(block)
    return out


# -- scanning ----------------------------------------------------------------

def scan(files: dict[str, bytes], needles: list[str]) -> list[str]:
    """Where any needle occurs: file names, text, PDF streams and text."""
    found = []
    lowered = [(needle, needle.lower()) for needle in needles if needle]
    for name, data in files.items():
        for needle, low in lowered:
            if low in name.lower():
                found.append(f"{name}: the file name contains {needle!r}")
        for label, text in _readable(name, data):
            low_text = text.lower()
            for needle, low in lowered:
                if low in low_text:
                    found.append(f"{name}: {label} contains {needle!r}")
    return found


def _readable(name: str, data: bytes):
    """Every form of a file's text a person or a program could read."""
    yield "bytes", data.decode("latin-1")
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                content = archive.read(member).decode("utf-8", "replace")
                yield member, content
                yield f"{member} (text)", re.sub(r"<[^>]+>", "", content)
    if data[:4] == b"%PDF":
        from pypdf import PdfReader

        for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
            try:
                yield "a decompressed stream", zlib.decompress(stream.group(1)).decode(
                    "latin-1")
            except zlib.error:
                continue
        reader = PdfReader(io.BytesIO(data))
        yield "its text", "\n".join(page.extract_text() for page in reader.pages)
        yield "its Info", str(reader.metadata)
        yield "its attachments", " ".join(reader.attachments)


# -- JATS ----------------------------------------------------------------------

JATS_DTDS = SCHEMAS / "jats"


def validate_jats(xml: bytes, dtds: Path = JATS_DTDS) -> list[str]:
    """Errors against the JATS DTD the document declares, offline, from the
    DTDs in schemas/jats (their catalog maps the DOCTYPE to a file); empty
    when valid."""
    from lxml import etree

    match = re.search(rb'<!DOCTYPE article PUBLIC "([^"]+)"', xml)
    if not match:
        return ["no JATS DOCTYPE"]
    catalog = (dtds / "catalog.xml").read_text(encoding="utf-8")
    entry = re.search(r'publicId="' + re.escape(match.group(1).decode()) +
                      r'" uri="([^"]+)"', catalog)
    if not entry:
        return [f"no DTD for {match.group(1).decode()!r} in the catalog"]
    dtd = etree.DTD(str(dtds / entry.group(1)))
    tree = etree.fromstring(xml, etree.XMLParser(load_dtd=False, no_network=True,
                                                 resolve_entities=False))
    if dtd.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in dtd.error_log]


# -- the package ---------------------------------------------------------------

def zip_files(files: dict[str, bytes], when) -> bytes:
    """A zip with sorted names and one fixed entry time: the same bytes
    whenever the files are the same."""
    out = io.BytesIO()
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute,
             when.second)
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return out.getvalue()
