"""What a statement PDF says, apart from its bytes: the strings pypdf reads back, in
order and page by page, and the document's metadata.

``test_pdf_bytes.py`` pins the bytes; a renderer that draws the same pages another
way (and so changes the bytes) must still print the same strings in the same order on
the same number of pages (``bench/pdf_pixels.py`` compares the pages as pixels). The
digests below were read from the PDFs of the platypus renderer (main at 55d2fc9).
"""

from __future__ import annotations

import hashlib
import io

import pypdf
import pytest

from statements.pdf import fonts
from tests.statements.pdf_cases import CASES

# case: (pages, SHA-256 of the pages' extracted text joined by form feeds)
TEXT = {
    "en-30-seed0": (2, "06d9bb8778b94776bb59262fa246196ee3019244517bc9f1b0d71756baac5bfb"),
    "en-60-hold": (3, "1caa14e2da22eeff5b40619a3ba3c9c35b025f73709c0200da4e6d0d21e3c6af"),
    "de_DE-60": (3, "501aec30ac2a8e730445b2f312d4055214336cd7858b694070169079cbebaadb"),
    "ja-cjk-name": (2, "49f841a6b164e8b2689ff64b676b1fca927bef1ab8b81377e6d30a103bd8cdae"),
    "long-name": (2, "23c7b3d9bc52a131eeb84adcc53cf8ca30dd56a2352ea8a8980f494f2998c285"),
    "en-400-pages": (9, "d64d6ce538a9316196c05225b30145de45307034782d742c9675c8d79b3f132d"),
    "empty": (1, "3b5e9e2867e9cdd131eaf348ae405d1568ef952da12c8761878c5c80094efa75"),
    "fx-and-manual-de": (2, "421873cba0fd37be6b797e14f0900fa2d87c62ae4502eb2b2643c3c3a160007c"),
    "failed": (2, "9dd9a0ce80e8cea3599b96db03f42e48bc1c7e4e97e67b146445517d3d02fa11"),
    "self-billed-fr": (2, "ad817339b761d9aa5003f1ceb1c50c29645549e74ec39387f32f65ad7e2730a4"),
}


def _pages(name: str) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(CASES[name]().pdf()))
    return [page.extract_text() for page in reader.pages]


@pytest.fixture(autouse=True)
def _dejavu() -> None:
    if fonts().family != "DejaVu Sans":
        pytest.skip("the recorded text was read from PDFs set in DejaVu Sans")


@pytest.mark.parametrize("name", sorted(TEXT))
def test_the_strings_read_back_are_those_printed_before_in_the_same_order(name: str) -> None:
    pages = _pages(name)
    digest = hashlib.sha256("\f".join(pages).encode()).hexdigest()
    assert (len(pages), digest) == TEXT[name]


def test_every_continued_page_repeats_the_table_heading_and_column_header() -> None:
    pages = [text.splitlines() for text in _pages("en-400-pages")]
    columns = ["Date", "Source", "Customer", "Component", "Base", "Rate", "Amount"]
    for lines in pages[1:]:
        assert lines[0] in {
            "Earnings, clawbacks and adjustments",
            "Resale margin earned (not payable)",
        }
        assert [line.strip() for line in lines[1:8]] == columns


def test_every_page_ends_with_its_number_the_content_hash_and_the_plan_versions() -> None:
    statement = CASES["en-400-pages"]().statement
    pages = [text.splitlines() for text in _pages("en-400-pages")]
    for number, lines in enumerate(pages, start=1):
        assert lines[-3:] == [
            f"Page {number} of {len(pages)}",
            f"Content hash (SHA-256): {statement.content_hash}",
            "Plan versions: referral-2026@v1#0f3e9a17, reseller-2026@v2#ab12cd34",
        ]


def test_the_document_keeps_its_title_subject_and_author() -> None:
    case = CASES["de_DE-60"]()
    reader = pypdf.PdfReader(io.BytesIO(case.pdf()))
    assert reader.metadata is not None
    assert reader.metadata.title == "Partnerabrechnung P-000123 2026-03"
    assert reader.metadata.subject == f"Inhalts-Hash {case.statement.content_hash}"
    assert reader.metadata.author == "partner-payouts"
    assert reader.metadata.creator == "partner-payouts"
