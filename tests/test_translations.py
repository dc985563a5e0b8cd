"""Every message has a French translation, none empty or fuzzy, and the catalog is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with open(ROOT / f"idp/translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        return read_po(fh)


def test_french_catalog_is_complete_and_not_fuzzy() -> None:
    catalog = _catalog("fr")
    for message in catalog:
        if message.id:
            assert message.string, f"no French for {message.id!r}"
            assert not message.fuzzy, f"fuzzy French for {message.id!r}"


def test_catalog_holds_every_message_of_the_code(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "--ignore-dirs", ".*", "-k", "_l",
         "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with open(pot, "rb") as fh:
        extracted = {m.id for m in read_po(fh) if m.id}
    translated = {m.id for m in _catalog("fr") if m.id}
    assert extracted - translated == set(), "run pybabel update and translate the new messages"
