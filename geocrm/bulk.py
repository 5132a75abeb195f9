"""Fast bulk inserts: one prepared statement, values converted once, straight to the driver.

SQLAlchemy's executemany builds a parameter dictionary per row through the compiled
statement; at 100,000 rows that costs more than the database's own work. Here each row
is read a column at a time in C calls (``itemgetter``); only the columns whose type needs a
bind processor (enums, JSON, datetimes on SQLite...) are converted, once per value object;
floats going into a FLOAT column are not touched; values that are the same for every row
(``same=``: a batch's timestamp, its source) are converted once and repeated; ``zip``
makes the rows' tuples. Then the driver gets plain tuples: on SQLite a hundred rows to an
``INSERT`` statement, on PostgreSQL with psycopg its ``COPY``.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice, repeat
from operator import is_, itemgetter
from typing import Any

from sqlalchemy import Column, Float, Table, insert
from sqlalchemy.orm import Session

_NONE = type(None)


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *,
                json_text: Collection[str] = (),
                same: Mapping[str, Any] | None = None,
                columns: Mapping[str, Sequence[Any]] | None = None) -> None:
    """Insert ``rows`` (mappings with the same keys) into ``table`` in the session's
    transaction.

    ``same`` gives columns whose value is the same for every row (converted once, not
    repeated in each row's dict). ``columns`` gives whole columns, one value per row, that
    take the place of the rows' own keys (an import fills its defaults and ids a column at
    a time and leaves the rows as the file said them). ``json_text`` names JSON columns
    whose values the caller already serialised (an import's 100,000 audit entries differ
    only in the row number: one template, no encoder run per row); both engines store that
    text as it is. Every column SQLAlchemy would fill with a Python-side default must be
    given.
    """
    if not rows:
        return
    same = dict(same or {})
    given = {k: v for k, v in (columns or {}).items() if k not in same}
    for key, column in given.items():
        if len(column) != len(rows):
            raise ValueError(f"bulk_insert into {table.name}: {len(column)} values of {key} "
                             f"for {len(rows)} rows")
    # Keys that are no column of the table are ignored, as SQLAlchemy does. A column that
    # is None in every row and has no default is left out: SQL fills it with NULL, without
    # 100,000 bound Nones (an import's file has no phone column...).
    values_of: dict[str, Sequence[Any]] = {
        k: given[k] if k in given else _column(rows, k)
        for k in dict.fromkeys([*rows[0], *given]) if k in table.c and k not in same}
    keys = [k for k, column in values_of.items() if not _all_null(column, table.c[k])]
    conn = session.connection()
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=[*keys, *same])
    processors = compiled._bind_processors  # noqa: SLF001 - the public path works per row
    bind_of = {bind.key: name for name, bind in compiled.binds.items()}
    missing = set(bind_of) - set(keys) - set(same) - set(values_of)
    if missing:  # a Python-side default the statement would need: the caller must say
        raise KeyError(f"bulk_insert into {table.name} needs {sorted(missing)}")
    proc_of = {key: processors[bind_of[key]] for key in bind_of
               if bind_of[key] in processors and key not in json_text}
    converted = [k for k in keys if k in proc_of and not _as_is(values_of[k], table.c[k])]
    plain = [k for k in keys if k not in converted]
    constants = {k: proc_of[k](v) if k in proc_of else v for k, v in same.items()}
    n = len(rows)
    preparer = dialect.identifier_preparer
    if compiled.positional and dialect.paramstyle == "qmark":  # SQLite
        # A value every row shares is written into the statement itself when SQL can say
        # it exactly (a batch's timestamp, its source): nothing to bind 100,000 times.
        literals = {k: text for k, v in constants.items()
                    if (text := _sqlite_literal(v)) is not None}
        bound = [*plain, *converted, *(k for k in constants if k not in literals)]
        columns = _param_columns(values_of, plain, converted, proc_of, constants, bound, n)
        head = (f"INSERT INTO {preparer.format_table(table)} "
                f"({', '.join(preparer.format_column(table.c[k]) for k in [*bound, *literals])})")
        cursor = conn.connection.driver_connection.cursor()
        try:
            _insert_sqlite(cursor, head, len(bound), zip(*columns, strict=True), n,
                           tail=tuple(literals.values()))
        finally:
            cursor.close()
        return
    order = [*plain, *converted, *constants]
    # The values a column at a time, then each row's tuple by zip: every pass a C call.
    params: Iterator[tuple[Any, ...]] = zip(
        *_param_columns(values_of, plain, converted, proc_of, constants, order, n), strict=True)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        # COPY: the rows stream as one command, each adapted in C (an executemany of
        # 100,000 rows costs the client ~30 µs a row in parameter dicts and binding).
        _copy(conn, table, order, params)
        return
    rows_out: list[Any] = list(params)
    if not compiled.positional:  # another named style: parameters by name, any order
        names = [bind_of[k] for k in order]
        rows_out = [dict(zip(names, p, strict=True)) for p in rows_out]
    else:  # another positional style: the statement's own order
        at = {k: i for i, k in enumerate(order)}
        pick = [at[compiled.binds[name].key] for name in compiled.positiontup or []]
        rows_out = [tuple(p[i] for i in pick) for p in rows_out]
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(compiled.string, rows_out)
    finally:
        cursor.close()


def insert_columns(session: Session, table: Table, columns: Mapping[str, Sequence[Any]], *,
                   json_text: Collection[str] = (),
                   same: Mapping[str, Any] | None = None) -> None:
    """:func:`bulk_insert` of rows given only as columns, all of one length (an import's
    source records, history rows and tag links are made a column at a time)."""
    lengths = set(map(len, columns.values()))
    if len(lengths) > 1:
        raise ValueError(f"insert_columns into {table.name}: columns of lengths {lengths}")
    bulk_insert(session, table, [{}] * (lengths.pop() if lengths else 0), columns=columns,
                json_text=json_text, same=same)


#: Rows per INSERT statement on SQLite, within its limit of bound variables per statement
#: (32,766 since 3.32, 999 before).
SQLITE_ROWS_PER_STATEMENT = 100
_SQLITE_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _insert_sqlite(cursor: Any, head: str, width: int, rows: Iterator[tuple[Any, ...]],
                   count: int, *, tail: Sequence[str] = ()) -> None:
    """``count`` rows (tuples of ``width`` values) inserted with ``head`` ("INSERT INTO t
    (…)"), many to a statement: ``VALUES (…), (…), …``; ``tail`` are SQL literals that
    close every row (the columns after the bound ones in ``head``).

    A statement per row costs the driver and SQLite a bind, a step and a reset each; a
    statement of a hundred rows costs a third less per row for narrow tables (measured on
    an import's 100,000 tags, history rows, source records and audit entries: 1.2 s to
    0.85 s). The rows are flattened and cut into statements' parameters in C calls; the
    last rows that do not fill a statement go in one of their own.
    """
    if width == 0:  # every value is a literal: each row binds nothing
        rows = repeat((), count)
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, _SQLITE_VARIABLES // max(width, 1)))
    row = f"({', '.join(['?'] * width + list(tail))})"
    values = chain.from_iterable(rows)
    statements = count // per
    if statements:
        size = per * width
        cursor.executemany(f"{head} VALUES {', '.join([row] * per)}",
                           [tuple(islice(values, size)) for _ in range(statements)])
    rest = count - statements * per
    if rest:
        cursor.execute(f"{head} VALUES {', '.join([row] * rest)}", tuple(values))


def _copy(conn: Any, table: Table, order: Sequence[str],
          params: Iterable[tuple[Any, ...]]) -> None:
    """The rows into ``table`` with PostgreSQL's COPY (psycopg 3), in the session's
    transaction; values are the bind-processed ones an INSERT would send, in ``order``."""
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.format_column(table.c[k]) for k in order)
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
    finally:
        cursor.close()


def _param_columns(values_of: Mapping[str, Sequence[Any]], plain: Sequence[str],
                   converted: Sequence[str], proc_of: Mapping[str, Callable[[Any], Any]],
                   constants: Mapping[str, Any], order: Sequence[str],
                   n: int) -> list[Iterable[Any]]:
    """The statement's values, a column each in ``order``: plain columns as they are,
    converted ones through their bind processor, constants repeated ``n`` times."""
    out: dict[str, Iterable[Any]] = {k: values_of[k] for k in plain}
    out.update((k, _convert(values_of[k], proc_of[k])) for k in converted)
    out.update((k, repeat(constants[k], n)) for k in order if k in constants)
    return [out[k] for k in order]


def _sqlite_literal(value: Any) -> str | None:
    """``value`` (already bind-processed) as an SQLite literal that stores exactly what
    binding it would, or None where only binding is exact (bytes, a text with a NUL, a
    float that is not finite)."""
    kind = type(value)
    if value is None:
        return "NULL"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else None
    if kind is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    """Every row's value of ``key``, in one C call."""
    return list(map(itemgetter(key), rows))


def _all_null(values: Sequence[Any], column: Column[Any]) -> bool:
    """Every value is None and the column has no default that would differ."""
    if column.default is not None or column.server_default is not None:
        return False
    return values[0] is None and all(map(is_, values, repeat(None)))


def _as_is(values: Sequence[Any], column: Column[Any]) -> bool:
    """A FLOAT column holding only floats (and None): its processor is ``float()``."""
    if not isinstance(column.type, Float):
        return False
    return set(map(type, values)) <= {float, _NONE}


def _convert(column: list[Any], proc: Callable[[Any], Any]) -> list[Any]:
    """A column through its bind processor, once per value object: a batch's one
    timestamp, its four stages and its shared empty dict are converted once each. A column
    of mostly distinct objects (an import's values) goes through ``map``, with no memo to
    fill."""
    if len(set(map(id, column))) * 2 > len(column):  # the rows hold every value alive
        return list(map(proc, column))
    memo: dict[int, Any] = {}
    out: list[Any] = []
    append = out.append
    for value in column:
        key = id(value)  # the rows hold every value alive while this runs
        if key in memo:
            append(memo[key])
        else:
            append(memo.setdefault(key, proc(value)))
    return out
