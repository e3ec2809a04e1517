"""The Word reference document for submissions, made from pandoc's own.

Journals ask for a manuscript in Word set the way submissions are: a 12 pt
serif, double spacing, page numbers, line numbers for reviewers. Rather
than keep a binary .docx in the repository, this module takes the
reference document inside the pinned pandoc and changes exactly that:

- every style's font becomes Times New Roman, the default size 12 pt;
- paragraphs are double spaced (line 480 twips), without extra space;
- the section gets a footer with the page number (a PAGE field) and,
  if asked, line numbers (restarting on each page).

The result is the same bytes on every run (zip entry times are fixed).
This module must not know about manuscripts.
"""

from __future__ import annotations

import io
import re
import zipfile

from pubbuild import pandoc

FONT = "Times New Roman"
FOOTER_ID = "rIdPubbuildFooter"
FOOTER = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<w:p><w:pPr><w:jc w:val="center"/><w:spacing w:line="240" w:lineRule="auto"/>'
    '</w:pPr><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>')


def reference_docx(line_numbers: bool) -> bytes:
    original, _ = pandoc.run_bytes(["--print-default-data-file", "reference.docx"])
    with zipfile.ZipFile(io.BytesIO(original)) as source:
        infos = source.infolist()
        members = {info.filename: source.read(info) for info in infos}
    styles = members["word/styles.xml"].decode("utf-8")
    fonts = (f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" '
             f'w:cs="{FONT}" />')
    styles = re.sub(r"<w:rFonts [^>]*/>", fonts, styles)
    styles = styles.replace(
        '<w:spacing w:after="200" />',
        '<w:spacing w:before="0" w:after="0" w:line="480" w:lineRule="auto" />')
    styles = re.sub(r'(<w:style w:type="paragraph" w:styleId="BodyText">.*?)'
                    r'<w:spacing w:before="180" w:after="180" />',
                    r'\1<w:spacing w:before="0" w:after="0" />', styles, flags=re.S)
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
