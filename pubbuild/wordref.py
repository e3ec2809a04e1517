"""The Word reference document for submissions, made from pandoc's own.

Journals ask for a manuscript in Word set the way submissions are: a 12 pt
serif, double spacing, page numbers, line numbers for reviewers. Rather
than keep a binary .docx in the repository, this module takes the
reference document inside the pinned pandoc and changes exactly that:

- every style's font becomes Times New Roman, the default size 12 pt;
- paragraphs are double spaced (line 480 twips), without extra space;
- headings are black and sized by level (14, 13, 12 pt bold; level 3
  bold italic, deeper levels italic), not pandoc's large blue ones;
  (the font, the size and the spacing are parameters, for journals that
  ask otherwise: headings then step down from two points above the size)
- the abstract is body size under a bold "Abstract";
- reference list entries hang by 0.5 in with a line's space after each;
- table cells are single spaced (the table style's paragraph spacing),
  captions plain roman rather than italic;
- the section gets a footer with the page number (a PAGE field) and,
  if asked, line numbers (restarting on each page).

Everything else stays pandoc's, so a new pandoc's reference document still
works; a style this module changes but cannot find is an error, not a
silently unstyled manuscript.

The result is the same bytes on every run (zip entry times are fixed).
This module must not know about manuscripts.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

from pubbuild import pandoc

FONT = "Times New Roman"
SIZE = 12  # points
# Line spacing as journals name it -> Word's line height in 240ths of a line.
SPACING = {"double": 480, "1.5": 360, "single": 240}
FOOTER_ID = "rIdPubbuildFooter"
# The page number's line is not counted: LibreOffice would number it as
# line 1 of every page. (Elements in the schema's order, as Word requires.)
FOOTER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<w:p><w:pPr><w:suppressLineNumbers/><w:spacing w:line="240" w:lineRule="auto"/>'
    '<w:jc w:val="center"/></w:pPr><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>')

BLACK = '<w:color w:val="000000" />'
BOLD = "<w:b /><w:bCs />"
ITALIC = "<w:i /><w:iCs />"
# Kept with the text they introduce, and never split across a page.
KEEP = "<w:keepNext /><w:keepLines />"


def _size(points: float) -> str:
    half = round(points * 2)  # Word sizes are in half-points
    return f'<w:sz w:val="{half}" /><w:szCs w:val="{half}" />'


def _heading(level: int, body: float = SIZE) -> tuple[str, str]:
    """A heading's (paragraph, run) properties: black Times, one step
    smaller per level down to the body size, space above it only (double
    spacing does the rest)."""
    before = {1: 480, 2: 360}.get(level, 240)
    ppr = (f'<w:pPr>{KEEP}<w:spacing w:before="{before}" w:after="0" />'
           f'<w:outlineLvl w:val="{level - 1}" /></w:pPr>')  # the navigation pane
    face = {1: BOLD, 2: BOLD, 3: BOLD + ITALIC}.get(level, ITALIC)
    points = {1: body + 2, 2: body + 1}.get(level, body)
    return ppr, f"<w:rPr>{face}{BLACK}{_size(points)}</w:rPr>"


# Style id -> (paragraph properties, run properties) replacing pandoc's; None
# keeps pandoc's, "" removes them (the style then inherits the defaults:
# Times 12 pt, double spaced). Lengths are twips (720 = 0.5 in).
def _headings(body: float) -> dict[str, tuple[str, str | None]]:
    return {
        **{f"Heading{n}": _heading(n, body) for n in range(1, 10)},
        # The linked character styles, so text Word marks with them matches too.
        **{f"Heading{n}Char": (None, _heading(n, body)[1]) for n in range(1, 10)},
        # The title a size above the first heading, bold, black: pandoc's is
        # 28 pt in the theme's face, a poster's title rather than a manuscript's.
        "Title": (None, f"<w:rPr>{BOLD}{BLACK}{_size(body + 4)}</w:rPr>"),
        "TitleChar": (None, f"<w:rPr>{BOLD}{BLACK}{_size(body + 4)}</w:rPr>"),
        # Pandoc bases the names on the title: roman again, at body size.
        "Author": (None, f'<w:rPr><w:b w:val="0" /><w:bCs w:val="0" />{_size(body)}'
                         "</w:rPr>"),
    }


RESTYLE: dict[str, tuple[str | None, str | None]] = {
    **_headings(SIZE),
    "AbstractTitle": (f'<w:pPr>{KEEP}<w:spacing w:before="240" w:after="0" />'
                      '<w:jc w:val="center" /></w:pPr>', f"<w:rPr>{BOLD}</w:rPr>"),
    "Abstract": ('<w:pPr><w:spacing w:before="0" w:after="240" /></w:pPr>', ""),
    # Hanging indent and a line's space between entries, as reference lists
    # in manuscripts are set; the line spacing stays double.
    "Bibliography": ('<w:pPr><w:spacing w:before="0" w:after="240" />'
                     '<w:ind w:left="720" w:hanging="720" /></w:pPr>', ""),
    # Captions plain roman, with air between them and the table or figure.
    "Caption": ('<w:pPr><w:spacing w:before="120" w:after="240" /></w:pPr>', ""),
    # Cells single spaced: the table style's paragraph spacing applies to the
    # paragraphs in a table only, and overrides the document's double spacing
    # but not a paragraph style's own (so tight lists elsewhere stay double).
    "Table": ('<w:pPr><w:spacing w:before="0" w:after="0" w:line="240" '
              'w:lineRule="auto" /></w:pPr>', None),
}


def _restyle(styles: str, style_id: str, ppr: str | None, rpr: str | None) -> str:
    """`styles` with one style's paragraph and run properties replaced,
    written where the schema wants them (after the name, links and flags,
    before a table style's own table properties)."""
    found = re.search(rf'<w:style [^>]*w:styleId="{style_id}">(.*?)</w:style>',
                      styles, flags=re.S)
    if found is None:
        raise ValueError(f"pandoc's reference.docx has no style {style_id!r}")
    body = found.group(1)
    split = re.search(r"<w:(?:tblPr|trPr|tcPr|tblStylePr)\b", body)
    head, tail = (body[:split.start()], body[split.start():]) if split else (body, "")
    old = {}
    for tag in ("pPr", "rPr"):
        block = re.search(rf"<w:{tag}\s*/>|<w:{tag}>.*?</w:{tag}>", head, flags=re.S)
        old[tag] = block.group(0) if block else ""
        head = head.replace(old[tag], "", 1) if block else head
    head = head.rstrip() + (old["pPr"] if ppr is None else ppr) + (
        old["rPr"] if rpr is None else rpr)
    return styles[:found.start(1)] + head + tail + styles[found.end(1):]


def reference_docx(line_numbers: bool, font: str = FONT, size: float = SIZE,
                   spacing: str = "double") -> bytes:
    """The reference document: `font` for every style, `size` points for
    body text, `spacing` one of SPACING's names."""
    if spacing not in SPACING:
        raise ValueError(f"line spacing {spacing!r} is not one of "
                         f"{', '.join(SPACING)}")
    original, _ = pandoc.run_bytes(["--print-default-data-file", "reference.docx"])
    with zipfile.ZipFile(io.BytesIO(original)) as source:
        infos = source.infolist()
        members = {info.filename: source.read(info) for info in infos}
    styles = members["word/styles.xml"].decode("utf-8")
    face = escape(font, {'"': "&quot;"})
    fonts = (f'<w:rFonts w:ascii="{face}" w:hAnsi="{face}" w:eastAsia="{face}" '
             f'w:cs="{face}" />')
    styles = re.sub(r"<w:rFonts [^>]*/>", lambda _: fonts, styles)
    if size != SIZE:  # pandoc's default is ours: its bytes stay as they are
        styles = re.sub(r"(<w:rPrDefault>.*?)<w:sz [^>]*/>\s*<w:szCs [^>]*/>",
                        lambda m: m.group(1) + _size(size), styles, count=1,
                        flags=re.S)
    styles = styles.replace(
        '<w:spacing w:after="200" />',
        '<w:spacing w:before="0" w:after="0" '
        f'w:line="{SPACING[spacing]}" w:lineRule="auto" />')
    styles = re.sub(r'(<w:style w:type="paragraph" w:styleId="BodyText">.*?)'
                    r'<w:spacing w:before="180" w:after="180" />',
                    r'\1<w:spacing w:before="0" w:after="0" />', styles, flags=re.S)
    for style_id, (ppr, rpr) in {**RESTYLE, **_headings(size)}.items():
        styles = _restyle(styles, style_id, ppr, rpr)
    members["word/styles.xml"] = styles.encode("utf-8")
    document = members["word/document.xml"].decode("utf-8")
    section = (f'<w:sectPr><w:footerReference w:type="default" r:id="{FOOTER_ID}" />'
               '<w:footnotePr><w:numRestart w:val="eachSect" /></w:footnotePr>'
               '<w:pgSz w:w="11906" w:h="16838" />'
               '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" '
               'w:header="708" w:footer="708" w:gutter="0" />'
               + ('<w:lnNumType w:countBy="1" w:restart="newPage" />'
                  if line_numbers else '')
               + '<w:pgNumType w:start="1" /></w:sectPr>')
    document = re.sub(r"<w:sectPr>.*?</w:sectPr>", section, document, flags=re.S)
    members["word/document.xml"] = document.encode("utf-8")
    relations = members["word/_rels/document.xml.rels"].decode("utf-8")
    relations = relations.replace("</Relationships>", (
        '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/footer" Id="{FOOTER_ID}" Target="footer1.xml" />'
        "</Relationships>"))
    members["word/_rels/document.xml.rels"] = relations.encode("utf-8")
    types = members["[Content_Types].xml"].decode("utf-8")
    types = types.replace("</Types>", (
        '<Override PartName="/word/footer1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.footer+xml" /></Types>'))
    members["[Content_Types].xml"] = types.encode("utf-8")
    members["word/footer1.xml"] = FOOTER.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        names = [info.filename for info in infos] + ["word/footer1.xml"]
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, members[name])
    return out.getvalue()
