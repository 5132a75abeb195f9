"""The repository's documents: the generated data model, the links, the licence."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

ROOT = Path(__file__).resolve().parents[1]


def _datamodel_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("datamodel", ROOT / "scripts" / "datamodel.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_datamodel_doc_matches_the_models() -> None:
    """docs/datamodel.md is exactly what scripts/datamodel.py draws from today's metadata."""
    script = _datamodel_script()
    committed = (ROOT / "docs" / "datamodel.md").read_text(encoding="utf-8")
    assert committed == script.render(), (
        "docs/datamodel.md is out of date: run .venv/bin/python scripts/datamodel.py"
    )
    for table in script.metadata().tables:
        assert f"    {table} {{" in committed


def test_datamodel_draws_keys_and_cardinality_from_the_columns() -> None:
    """A required FK is one-to-many, a nullable one hangs on zero-or-one parent, a unique one
    is one-to-one; PK/FK/UK markers and "null" come from the columns."""
    meta = MetaData()
    Table("parent", meta, Column("id", Integer, primary_key=True), Column("name", String(20)))
    Table(
        "child",
        meta,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey("parent.id"), nullable=False),
        Column("other_id", ForeignKey("parent.id"), nullable=True),
        Column("only_id", ForeignKey("parent.id"), unique=True, nullable=False),
        Column("code", String(8), unique=True, nullable=True),
    )
    text = _datamodel_script().render(meta)
    assert '    parent ||--o{ child : "parent_id"' in text
    assert '    parent |o--o{ child : "other_id"' in text
    assert '    parent ||--o| child : "only_id"' in text
    assert "        Integer id PK\n" in text
    assert '        Integer other_id FK "null"' in text
    assert "        Integer only_id FK, UK\n" in text
    assert '        String code UK "null"' in text


MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


@pytest.mark.parametrize(
    "document", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))]
)
def test_links_stay_inside_the_repository(document: str) -> None:
    """Every relative link of the README and docs/ names a file in this repository."""
    path = ROOT / document if document == "README.md" else ROOT / "docs" / document
    text = path.read_text(encoding="utf-8")
    for match in MARKDOWN_LINK.finditer(text):
        target = (match.group(1) or match.group(2)).split("#", 1)[0]
        if not target or re.match(r"^[a-z]+:", target):
            continue  # an anchor on the same page, or a web address
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{document} links outside the repository: {target}"
        assert resolved.exists(), f"{document} links to a missing file: {target}"
    assert "../shared/" not in text, f"{document} points at a design page outside the repository"


def test_readme_links_the_architecture() -> None:
    """The README sends a newcomer to docs/ARCHITECTURE.md."""
    assert "(docs/ARCHITECTURE.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_licence_is_the_agpl_the_package_declares() -> None:
    """LICENSE holds the GNU AGPL v3 text and pyproject declares the same licence."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE")
    assert "Version 3, 19 November 2007" in text
    assert "13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert "END OF TERMS AND CONDITIONS" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "AGPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]


CODE = re.compile(r"`([^`\s]+)`")


def _problem_with(dotted: str) -> str | None:
    """Why ``pkg.module.attr`` is a bad reference: missing, or a re-export of another module's."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        module = ".".join(parts[:cut])
        for name in parts[cut:]:
            if not hasattr(target, name):
                return f"{dotted}: no such name"
            target = getattr(target, name)
        home = getattr(target, "__module__", None)
        public = getattr(importlib.import_module(module), "__all__", ())
        is_api = module in ("routing", "territories") and parts[-1] in public
        if cut == len(parts) - 1 and callable(target) and home and home != module and not is_api:
            return f"{dotted}: defined in {home}"
        return None
    return f"{dotted}: no such module"


def test_architecture_names_only_code_that_exists() -> None:
    """Every module, function and file that docs/ARCHITECTURE.md names in `code` exists, and a
    function or class is named where it is defined (not where it is re-exported)."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    names = set(CODE.findall(text))
    dotted = {n for n in names if re.fullmatch(r"(geocrm|routing|territories)(\.\w+)+", n)}
    paths = {n for n in names if re.fullmatch(r"(geocrm|templates|scripts|tests)/[\w./-]+", n)}
    assert dotted and paths
    missing = sorted(filter(None, map(_problem_with, dotted)))
    missing += sorted(f"{p}: no such file" for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/ARCHITECTURE.md names code that does not exist: {missing}"
