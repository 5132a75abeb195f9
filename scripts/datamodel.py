"""Write ``docs/datamodel.md``: a Mermaid ER diagram generated from the SQLAlchemy metadata.

The diagram is drawn from the tables the app declares (``geocrm.models``), never by hand, so it
cannot drift from the code: ``tests/test_docs.py`` regenerates it and fails when the committed
file differs. After changing a model (and writing its migration) run::

    .venv/bin/python scripts/datamodel.py          # rewrite docs/datamodel.md
    .venv/bin/python scripts/datamodel.py --check  # exit 1 if it is out of date

Every table is an entity with its columns: the type (SQLAlchemy's generic name, the same on
SQLite and PostgreSQL), ``PK``/``FK``/``UK`` markers, and "null" for a nullable column. Every
foreign key is a relationship line labelled with its column; the cardinality comes from the
column: a unique key is one-to-zero-or-one, a nullable one hangs on zero-or-one parent.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sqlalchemy import Column, MetaData, Table, UniqueConstraint

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "datamodel.md"

HEADER = """\
# Data model

Generated from the SQLAlchemy metadata (`geocrm/models/`) by `scripts/datamodel.py`; do not
edit by hand: run `.venv/bin/python scripts/datamodel.py` after changing a model (a test fails
while this file is out of date). The migrations in `geocrm/migrations/versions/` build the same
tables. How the tables are used: [ARCHITECTURE.md](ARCHITECTURE.md).

Markers: `PK` primary key, `FK` foreign key, `UK` unique on its own; "null" means nullable.
A line `A ||--o{ B : "a_id"` reads "one A has many B through B.a_id"; `|o` on the A side means
B.a_id may be empty.

"""


def metadata() -> MetaData:
    """Every table the app declares (importing the models registers them)."""
    sys.path.insert(0, str(ROOT))
    from geocrm import models  # noqa: F401  (registers the tables)
    from geocrm.extensions import db

    return db.metadata


def _type_name(column: Column) -> str:
    """The column type as one Mermaid word: the generic SQLAlchemy name, no length."""
    name = type(column.type).__name__
    return re.sub(r"[^A-Za-z0-9_]", "", name) or "value"


def _unique_alone(table: Table, column: Column) -> bool:
    if column.unique:
        return True
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and list(constraint.columns) == [column]:
            return True
    return any(index.unique and list(index.columns) == [column] for index in table.indexes)


def _entity(table: Table) -> list[str]:
    lines = [f"    {table.name} {{"]
    for column in table.columns:
        keys = []
        if column.primary_key:
            keys.append("PK")
        if column.foreign_keys:
            keys.append("FK")
        if _unique_alone(table, column) and not column.primary_key:
            keys.append("UK")
        line = f"        {_type_name(column)} {column.name}"
        if keys:
            line += " " + ", ".join(keys)
        if column.nullable and not column.primary_key:
            line += ' "null"'
        lines.append(line)
    lines.append("    }")
    return lines


def _relationships(table: Table) -> list[str]:
    lines = []
    for fk in sorted(table.foreign_keys, key=lambda f: (f.parent.name, f.target_fullname)):
        column = fk.parent
        parent = fk.column.table.name
        parent_end = "|o" if column.nullable else "||"
        child_end = "o|" if _unique_alone(table, column) else "o{"
        lines.append(f'    {parent} {parent_end}--{child_end} {table.name} : "{column.name}"')
    return lines


def render(meta: MetaData | None = None) -> str:
    """The whole of ``docs/datamodel.md`` for ``meta`` (the app's metadata by default)."""
    meta = meta if meta is not None else metadata()
    tables = sorted(meta.tables.values(), key=lambda t: t.name)
    body = ["```mermaid", "erDiagram"]
    for table in tables:
        body.extend(_relationships(table))
    for table in tables:
        body.extend(_entity(table))
    body.append("```")
    return HEADER + "\n".join(body) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run scripts/datamodel.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(metadata().tables)} tables)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
