"""Rendering is a pure function of the statement down to the byte: the PDFs of a fixed
set of statements (``tests/statements/pdf_cases.py``) keep the SHA-256 recorded below,
and reportlab runs with its C accelerator."""

from __future__ import annotations

import pytest

from statements.pdf import fonts, render_pdf
from tests.statements.pdf_cases import CASES

# Rendered with DejaVu Sans and reportlab 5.1 by the canvas renderer (statements drawn
# straight on the canvas, after platypus), once its pages were compared with platypus'
# pixel by pixel (bench/pdf_pixels.py) and read back as the same text
# (test_pdf_text.py); `python -m tests.statements.pdf_cases` prints them again.
SHA256 = {
    "en-30-seed0": "218bc58610d8b00cea43176ce1fdb10b3061bcfb6b938e01bc448240dd65487b",
    "en-30-seed1": "dbb9ab37affe637c5727dfe4b9dffd2b4baeb4e617dc522b74ce430ac2a8ffb1",
    "en-30-seed2": "7b1dda2d50570c5cfe447956a57224b8738479207acee2bf8a5db7e02e899c1e",
    "en-30-seed3": "f05c3dafac3df3c5298993f3fcc4a3bf7e27019abdca4a925899f3c5ff12edd4",
    "en-60-hold": "dcac373bd4e89809b94f657ab40d736ab03005081e659956c1c8301c0f7ea955",
    "de_DE-60": "d09a87084d1d23eec59b18cd5eba43562eac6286c1067fa81c6e64f634acb879",
    "fr_FR-60": "f78cc9f92db3af182609239d5a0b9c836d3310107bd504aa0e8e3bbb110f4b8d",
    "es_ES-60": "e8cca176946e1bc7514950762e70a12f3da196303b2114c3eccf4ba04b16e78f",
    "ja_JP-60": "e7f4c628d81e77f9d9dafb65a859e6c64d4cedc07e2ff411b5cf58c338429e5f",
    "ja-cjk-name": "2393471c22927fe8fe8f52d28fe5eca7ae99d46bdd61a7f61a6c0b30f49e7a63",
    "long-name": "78dc5777024779c17b1c6264afbfa3a74f58413d15902286ec97fe72dea4bc4e",
    "en-400-pages": "b39f9a0799272ae5e7cb4e5a8f246c35865c053b3f432752f4bfd911f34f2ff3",
    "empty": "993cb7f5b9bf820551a2e12fde4f9d9f2c66641cb95d06d13c489fd0ea8e85f8",
    "no-tier": "b5b0787287eb2ec6f28265ad3bae54199e29ed1e3e750355ff52d323782311da",
    "tier-not-at-risk": "35df7ec708d08898e4a303006e6bcbb743bff4961e1a46841b54721e3c507fb0",
    "fx-and-manual-de": "d3f311149f83567116f18938389ea9456d4068121944d586a6b426bd675b7e7b",
    "paid": "005e035a6afcb071c37d6e0cae41ef38876f76dfda4a708de77ccbf6e70ecbee",
    "failed": "3bec9be533b2ab6bb7f09d55f3af1ad4bbdaf41161316be975fa06855e124bbd",
    "pending": "89e9ccabc50965aa89c9bbf0015709f605d1a848d52236636292b5018ba8a7e8",
    "self-billed-fr": "5ffabc2b9c0fd16da4e3389945baca6a4c6219c80d166d8d22be45e19b941afa",
    "unsealed": "d2a9a153625597a145df40f4626eb58f2bf4bfe48c06a95e57457f5789431db8",
}


def test_every_case_has_a_recorded_digest() -> None:
    assert sorted(SHA256) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_pdf_bytes_are_those_rendered_before_the_layout_was_cached(name: str) -> None:
    if fonts().family != "DejaVu Sans":
        pytest.skip("the recorded bytes embed DejaVu Sans, which this system lacks")
    assert CASES[name]().digest() == SHA256[name]


def test_the_bytes_hold_when_every_case_is_rendered_again_in_the_same_process() -> None:
    # Table shapes, paragraph line breaks and font subsets are kept per process: a
    # second pass over all cases (a multi-page table split among them) reuses them all.
    if fonts().family != "DejaVu Sans":
        pytest.skip("the recorded bytes embed DejaVu Sans, which this system lacks")
    for _ in range(2):
        assert {name: make().digest() for name, make in CASES.items()} == SHA256


def test_reportlab_runs_with_its_c_accelerator() -> None:
    # Without rl_accel reportlab falls back to pure-Python number formatting, ASCII85
    # and string widths (bench/bench_render.py measures the difference).
    from reportlab.lib import rl_accel

    assert type(rl_accel.fp_str).__name__ == "builtin_function_or_method"
    assert type(rl_accel.asciiBase85Encode).__name__ == "builtin_function_or_method"


def test_a_font_subset_is_cut_from_the_font_file_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reportlab.pdfbase import pdfmetrics

    statement = CASES["en-30-seed0"]().statement
    first = render_pdf(statement)
    cut: list[int] = []
    for name in (fonts().regular, fonts().bold):
        face = pdfmetrics.getFont(name).face
        original = face.makeSubset
        monkeypatch.setattr(
            face, "makeSubset", lambda subset, original=original: cut.append(1) or original(subset)
        )
    assert render_pdf(statement) == first
    assert cut == []


def test_a_font_subset_s_widths_and_unicode_map_are_written_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reportlab.pdfbase import pdfmetrics, ttfonts

    from statements import pdf

    statement = CASES["en-30-seed1"]().statement
    first = render_pdf(statement)
    made: list[str] = []
    for module in (pdf, ttfonts):
        original = module.makeToUnicodeCMap
        monkeypatch.setattr(
            module,
            "makeToUnicodeCMap",
            lambda *args, original=original: made.append("map") or original(*args),
        )
    for name in (fonts().regular, fonts().bold):
        face = pdfmetrics.getFont(name).face
        width = face.getCharWidth
        monkeypatch.setattr(
            face, "getCharWidth", lambda code, width=width: made.append("width") or width(code)
        )
    assert render_pdf(statement) == first
    assert made == []
