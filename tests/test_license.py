"""The project is Apache-2.0, as pyproject says, and ships the license's full text."""

from __future__ import annotations

import hashlib
import tomllib
from importlib.metadata import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the text as published.
APACHE_2_0 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_the_repository_holds_the_apache_license_2_0_word_for_word() -> None:
    license_file = ROOT / "LICENSE"
    assert license_file.is_file()
    assert hashlib.sha256(license_file.read_bytes()).hexdigest() == APACHE_2_0


def test_the_package_metadata_names_the_license_and_ships_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    installed = metadata("partner-payouts")
    assert installed["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in (installed.get_all("License-File") or [])
