"""The Word reference document for submissions (pubbuild/wordref.py): the
manuscript style journals ask for, read from the DOCX's own XML."""

from __future__ import annotations

import io
import re
import zipfile

from pubbuild import wordref


def members(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        return {name: docx.read(name).decode("utf-8") for name in docx.namelist()
                if name.endswith((".xml", ".rels"))}


def test_times_double_spaced_with_page_numbers_and_line_numbers_on_request():
    numbered = members(wordref.reference_docx(line_numbers=True))
    plain = members(wordref.reference_docx(line_numbers=False))
    fonts = set(re.findall(r'w:ascii="([^"]+)"', numbered["word/styles.xml"]))
    assert fonts == {"Times New Roman"}
    assert 'w:line="480"' in numbered["word/styles.xml"]  # double spacing
    # Page numbers: a PAGE field in a footer the section refers to.
    assert " PAGE " in numbered["word/footer1.xml"]
    assert wordref.FOOTER_ID in numbered["word/_rels/document.xml.rels"]
    assert f'r:id="{wordref.FOOTER_ID}"' in numbered["word/document.xml"]
    # Line numbers for reviewers only when asked.
    assert "<w:lnNumType" in numbered["word/document.xml"]
    assert "<w:lnNumType" not in plain["word/document.xml"]


def test_the_same_bytes_every_time():
    assert wordref.reference_docx(True) == wordref.reference_docx(True)
    with zipfile.ZipFile(io.BytesIO(wordref.reference_docx(True))) as docx:
        assert {info.date_time for info in docx.infolist()} == {(1980, 1, 1, 0, 0, 0)}
