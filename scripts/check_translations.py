#!/usr/bin/env python3
"""Fail when a message GeoCRM shows has no Korean or Japanese translation, or a wrong one.

Extracts afresh from the files ``babel.cfg`` lists (so a string wrapped but never merged into
the catalogues counts as missing), then checks each catalogue in ``geocrm/translations``:
every message translated (every plural form too), none fuzzy, and each translation carrying
exactly the placeholders of its source (``%(name)s``, ``%s``, ``{name}``): a translation that
drops or renames one would raise or show the wrong value at run time. Run by ``make lint``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "geocrm" / "translations"
LOCALES = ("ko", "ja")
# %(name)s / %s / %d (not %%), and {name} / {0} / {} (not {{ }}).
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[\w.]*\}")


def placeholders(text: str) -> Counter[str]:
    """The placeholders of one message, counted (order may change between languages)."""
    return Counter(PLACEHOLDER.findall(text.replace("%%", "").replace("{{", "").replace("}}", "")))


def extract(pot: Path) -> None:
    """Run the same extraction as ``make translations`` into ``pot``."""
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )


def check(pot_path: Path) -> list[str]:
    """Every problem found, one line each, naming the catalogue, the message and its source."""
    with pot_path.open("rb") as fh:
        template = read_po(fh)
    problems: list[str] = []
    for locale in LOCALES:
        po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            problems.append(f"{po_path.relative_to(ROOT)}: missing (run `make translations`)")
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in template:
            if not message.id:
                continue
            where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
            found = catalog.get(message.id, message.context)
            label = message.id if isinstance(message.id, str) else message.id[0]
            if found is None or found.string in ("", None) or (
                not isinstance(found.string, str) and not all(found.string)
            ):
                problems.append(f"{locale}: untranslated {label!r} ({where})")
                continue
            if found.fuzzy:
                problems.append(f"{locale}: fuzzy {label!r} ({where})")
                continue
            sources = [message.id] if isinstance(message.id, str) else list(message.id)
            targets = [found.string] if isinstance(found.string, str) else list(found.string)
            wanted = placeholders(sources[-1])
            for target in targets:
                if placeholders(target) != wanted and placeholders(target) != placeholders(
                    sources[0]
                ):
                    problems.append(
                        f"{locale}: placeholders of {label!r} differ: "
                        f"{sorted(wanted.elements())} vs {sorted(placeholders(target).elements())}"
                        f" in {target!r} ({where})"
                    )
    return problems


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        with pot.open("rb") as fh:
            count = sum(1 for m in read_po(fh) if m.id)
        problems = check(pot)
    for line in problems:
        print(line)
    if problems:
        print(f"check_translations: {len(problems)} problem(s) in {count} messages",
              file=sys.stderr)
        return 1
    print(f"check_translations: {count} messages, each translated to {', '.join(LOCALES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
