"""Rendering is a pure function of the statement down to the byte: the PDFs of a fixed
set of statements (``tests/statements/pdf_cases.py``) keep the SHA-256 they had before
the layout was cached per template, and reportlab runs with its C accelerator."""

from __future__ import annotations

import pytest

from statements.pdf import fonts, render_pdf
from tests.statements.pdf_cases import CASES

# Rendered with DejaVu Sans and reportlab 5.1 before any speed work (main at 955580d);
# `python -m tests.statements.pdf_cases` prints them again.
SHA256 = {
    "en-30-seed0": "4af29ed5970947bfee4553145cdcad9245fed39ba0c35db10492d3310a19b737",
    "en-30-seed1": "bec6487a19acbcccb215a8ebca2df65f4b6d7a2453c4c5fb626ad0a5a0a3ea3f",
    "en-30-seed2": "1fa2ada45ecdc84ae2d71268b2e1c2930294c0a31319644d6e5f9df5c4901ac3",
    "en-30-seed3": "cacee5f4d04bcdf14616cc4a1baa386ca8cc50df86e87f79fc836b0b6633ac1f",
    "en-60-hold": "68a71941ffbf26c07cfa9ee09820a5883a8dfcdbb12ee61761c820b7c751b78e",
    "de_DE-60": "6cc61d537993ab8394c85b9dc27e6a1feae372ef7a02c58b13813c976bf96113",
    "fr_FR-60": "729c367e7591d7e7c595208aac08146b9c9c606417168cd63d8f65076fba6e9c",
    "es_ES-60": "eea2b46fb385cf954d2a841b0adbc21fe3304d0cad4e1224828e47edb6960a35",
    "ja_JP-60": "87bfaf256f7ca3b8bd5e0d9c2a36002325bd1f75680a1a365231ba12278628c7",
    "ja-cjk-name": "a557afcc18bc9b165134a770f9bbad68059ea72fdd015946bc834a5ec12e6a4d",
    "long-name": "1869f9d888d3892914d241695c878af75d36c2381cfe5efe88eff66ee0b348e7",
    "en-400-pages": "c2b3c3bf58077d7c6ac7b9cf7f3cf58c27914379b1f076d7e0dc89b7ff7c7f56",
    "empty": "2bc8595aa69c7062146d17fdb88616f29d98089eab253665211c41740ae5bd1b",
    "no-tier": "3c66890daa8101412d7f30555981e5fe443d09b98ab6616ed0724e91fe924fec",
    "tier-not-at-risk": "3de5d3a4b86ade0a2541551d1a9532f8abfc4f71d123c100dcac34cc125ed88d",
    "fx-and-manual-de": "8414917f845bb8b2f7f1a24f1e124cbfadc578bfb224552bc4e3f3c6628134f2",
    "paid": "9e05699cc1303f27a425e21705140f80447d8d6c8ecbcdb6621fc9b496d29f13",
    "failed": "5c38d4ca1a68742574ac832b935baa27a1cc67e712252e82e661260ddf144d42",
    "pending": "f0b5f15caab9e11a7dd380794127a32c8d74beeb2bd93fd9f23ab28ed3d49637",
    "self-billed-fr": "bebcaa86e92344ce9325992b597cb82582e6136e5c1a3c92e75bf5f1567d5faf",
    "unsealed": "302ff781e55428015ec6aad95091a085b4cb9fcd5bd6dcae04c5cc6730acd3df",
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
