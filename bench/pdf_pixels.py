"""Statement PDFs rendered by this checkout and by another (main), compared as pixels.

For renderer changes that change the PDF bytes but must not change what a partner
sees: every case of ``tests/statements/pdf_cases.py`` (languages, CJK names, long
names, holds, a 400-line statement of many pages, zero lines, payout states,
self-billed documents) and, with ``--database-url``, the first ``--month-statements``
statements of a closed month as `render_period` draws them, are rendered by each
checkout in its own process, rasterised with pypdfium2 at ``--dpi`` and compared page
by page. A page differs when any pixel's channel differs by more than ``--tolerance``
(0 to 255; anti-aliasing of the same shape drawn by a different path may move a few
edge pixels by a few levels). Differing pages are written to ``--out`` as
``NAME-pN-{ours,theirs,diff}.png``; ``--keep`` writes every page.

    .venv/bin/python bench/pdf_pixels.py --against /work/main --out /tmp/pixels
    .venv/bin/python bench/pdf_pixels.py --against /work/main --out /tmp/pixels \\
        --database-url sqlite:////tmp/demo.db --month-statements 300

Exit status 1 when a page differs, or when the page counts or printed texts differ.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import pypdf
import pypdfium2

ROOT = Path(__file__).resolve().parent.parent

# Run inside each checkout: write every case's PDF (and a month's, when asked) to a folder.
WRITE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.statements.pdf_cases import CASES
out = Path(sys.argv[2])
for name, make in CASES.items():
    (out / f"{name}.pdf").write_bytes(make().pdf())
if len(sys.argv) > 3:
    from payouts.db import make_engine, unit_of_work
    from statements import rendering
    from statements.builder import partners_of_period, slices
    from statements.pdf import render_pdf
    engine = make_engine(sys.argv[3])
    with unit_of_work(engine, read_only=True) as session:
        partners = partners_of_period(session, sys.argv[4])[: int(sys.argv[5])]
        for ids in slices(partners):
            for item in rendering._slice_of(session, sys.argv[4], ids):
                pdf = render_pdf(item.statement, item.payout, item.documents)
                (out / f"month-{item.statement.partner_id}.pdf").write_bytes(pdf)
"""


def write_pdfs(root: Path, out: Path, month: tuple[str, str, int] | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    extra = [month[0], month[1], str(month[2])] if month else []
    subprocess.run([sys.executable, "-c", WRITE, str(root), str(out), *extra], cwd=root, check=True)


def pages(pdf: bytes, dpi: int) -> list[object]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def texts(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [line for page in reader.pages for line in page.extract_text().splitlines()]


def compare(
    name: str, ours: bytes, theirs: bytes, dpi: int, tolerance: int, out: Path, keep: bool
) -> list[str]:
    """What differs between two renderings of one statement (empty: nothing)."""
    from PIL import ImageChops

    problems: list[str] = []
    if texts(ours) != texts(theirs):
        problems.append(f"{name}: the printed strings differ")
    mine, other = pages(ours, dpi), pages(theirs, dpi)
    if len(mine) != len(other):
        return [*problems, f"{name}: {len(mine)} pages here, {len(other)} there"]
    for number, (a, b) in enumerate(zip(mine, other, strict=True), start=1):
        diff = ImageChops.difference(a, b)  # type: ignore[arg-type]
        histogram = diff.convert("L").histogram()
        worst = (
            max(level for level, count in enumerate(histogram) if count)
            if any(histogram[1:])
            else 0
        )
        changed = sum(histogram[tolerance + 1 :])
        if changed or keep:
            stem = out / f"{name}-p{number}"
            a.save(f"{stem}-ours.png")  # type: ignore[attr-defined]
            b.save(f"{stem}-theirs.png")  # type: ignore[attr-defined]
            if changed:
                diff.point(lambda v: 255 if v > tolerance else 0).save(f"{stem}-diff.png")
        if changed:
            problems.append(
                f"{name} page {number}: {changed} pixels differ by more than {tolerance}"
                f" (worst {worst})"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--against", required=True, help="the other checkout (e.g. /work/main)")
    parser.add_argument("--out", required=True, help="where differing pages are written")
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--tolerance", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="write every page, not only diffs")
    parser.add_argument("--database-url", help="a database with a closed month")
    parser.add_argument("--month-statements", type=int, default=200)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    month = None
    if args.database_url:
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_render import last_closed_period

        month = (args.database_url, last_closed_period(args.database_url), args.month_statements)
    with tempfile.TemporaryDirectory(prefix="pdf-pixels-") as scratch:
        here, there = Path(scratch) / "ours", Path(scratch) / "theirs"
        write_pdfs(ROOT, here, month)
        write_pdfs(Path(args.against).resolve(), there, month)
        names = sorted(p.stem for p in here.glob("*.pdf"))
        problems: list[str] = []
        page_count = 0
        for name in names:
            ours, theirs = (here / f"{name}.pdf").read_bytes(), (there / f"{name}.pdf").read_bytes()
            page_count += len(pypdf.PdfReader(io.BytesIO(ours)).pages)
            problems += compare(name, ours, theirs, args.dpi, args.tolerance, out, args.keep)
    print(f"{len(names)} statements, {page_count} pages compared at {args.dpi} dpi")
    for problem in problems:
        print(problem)
    if not problems:
        print(
            "every page has the same pixels"
            + (f" (within {args.tolerance})" if args.tolerance else "")
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
