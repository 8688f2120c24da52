"""The gettext catalogs of the portal and of the statements, built with Babel.

    python -m api.web.catalog          extract, update every catalog, compile (writes)
    python -m api.web.catalog --check  exit 1 when a shipped file is not current

(`python3.11 tasks.py catalog` runs the first.) Two domains: `messages`, every label of
the portal's pages (`api/web/locale/`), and `statements`, every label of the PDF and
CSV statements (`statements/locale/`, marked `N_()` in `statements/`). Each domain's
`.pot` is its labels; each `locale/<lang>/LC_MESSAGES/<domain>.po` is one language,
compiled to the `.mo` that is read. English is the source language: its catalog says
every label as it is. Files are written without dates, so the same sources give the
same bytes and a test can tell a stale catalog from a current one.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

import statements.language
from api.web.i18n import DOMAIN, LOCALE_DIR

WEB = Path(__file__).resolve().parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
SOURCE_LANGUAGE = "en"
PROJECT = "partner-payouts portal"


@dataclass(frozen=True, slots=True)
class Domain:
    """One gettext domain: where its labels are found and where its catalogs live."""

    name: str
    source: Path
    methods: tuple[tuple[str, str], ...]
    keywords: dict[str, tuple[int, ...] | None]
    locale_dir: Path
    project: str


PORTAL = Domain(DOMAIN, WEB, tuple(METHODS), dict(KEYWORDS), LOCALE_DIR, PROJECT)
STATEMENTS = Domain(
    statements.language.DOMAIN,
    statements.language.LOCALE_DIR.parent,
    (("**.py", "python"),),
    {"N_": None},
    statements.language.LOCALE_DIR,
    "partner-payouts statements",
)
DOMAINS = (PORTAL, STATEMENTS)


def _catalog(locale: str | None = None, project: str = PROJECT) -> Catalog:
    fixed = datetime(2026, 1, 1, tzinfo=UTC)  # no dates: the same sources, the same bytes
    return Catalog(
        locale=locale,
        project=project,
        version="1",
        charset="utf-8",
        fuzzy=False,
        creation_date=fixed,
        revision_date=fixed,
    )


def template(domain: Domain = PORTAL) -> Catalog:
    """Every label of the domain (the pages by default), as `pybabel extract` finds them."""
    pot = _catalog(project=domain.project)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(domain.source),
        list(domain.methods),
        keywords=domain.keywords,
        comment_tags=(),
        strip_comment_tags=True,
    ):
        pot.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return pot


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, no_location=True, sort_output=True, width=96)
    # Which Babel wrote it is no part of the catalog (and would make it look stale).
    lines = out.getvalue().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b'"Generated-By:'))


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def language(pot: Catalog, locale: str, existing: bytes | None) -> Catalog:
    """The catalog of `locale` for the labels of `pot`: the source language says each as
    it is; another keeps its translations of labels that are still used."""
    catalog = _catalog(locale, str(pot.project))
    if existing is not None and locale != SOURCE_LANGUAGE:
        catalog = read_po(io.BytesIO(existing), locale=locale)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        return catalog
    for message in pot:
        if not message.id:
            continue
        text = message.id if locale == SOURCE_LANGUAGE else ("", "") if message.pluralizable else ""
        catalog.add(message.id, text, flags=message.flags)
    return catalog


def outputs() -> dict[Path, bytes]:
    """Every catalog file of every domain as the sources make it now."""
    files: dict[Path, bytes] = {}
    for domain in DOMAINS:
        files.update(_domain_outputs(domain))
    return files


def _domain_outputs(domain: Domain) -> dict[Path, bytes]:
    pot = template(domain)
    root = domain.locale_dir
    files = {root / f"{domain.name}.pot": _po_bytes(pot)}
    found = root.iterdir() if root.is_dir() else iter(())
    locales = sorted(p.name for p in found if (p / "LC_MESSAGES").is_dir())
    for locale in locales or [SOURCE_LANGUAGE]:
        folder = root / locale / "LC_MESSAGES"
        po_path = folder / f"{domain.name}.po"
        existing = po_path.read_bytes() if po_path.exists() else None
        catalog = language(pot, locale, existing)
        files[po_path] = _po_bytes(catalog)
        files[folder / f"{domain.name}.mo"] = _mo_bytes(catalog)
    return files


def _same(path: Path, content: bytes) -> bool:
    if not path.exists():
        return False
    if path.suffix != ".mo":
        return path.read_bytes() == content

    # A compiled catalog is the same when it holds the same messages (its header names
    # the Babel that compiled it).
    def messages(data: bytes) -> dict[str, str]:
        return {repr(m.id): repr(m.string) for m in read_mo(io.BytesIO(data)) if m.id}

    return messages(path.read_bytes()) == messages(content)


def stale() -> list[Path]:
    """The shipped catalog files that differ from what the sources make."""
    return [path for path, content in outputs().items() if not _same(path, content)]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        old = stale()
        for path in old:
            print(f"stale: {path} (run `python3.11 tasks.py catalog`)")
        return 1 if old else 0
    for path, content in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
