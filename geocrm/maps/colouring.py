"""Colour the map's markers by what the reader asks: stage, owner, territory, last-visit age,
value or any custom field, with the legend that explains the colours.

The colours come from :mod:`geocrm.colours` (one place decides palettes); this module only
sorts each account into a legend entry. The answer is columnar like the points themselves:
``colour[i]`` is the legend index of the i-th point of :func:`geocrm.maps.services.map_points`
(same filters, same order by id), so 100,000 accounts cost one small int each.

Legend labels are plain text (names users typed, field values): the page puts them in with
``textContent``, never as HTML.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, case, cast, func, select, true

from geocrm.access import scope_accounts, scope_territories
from geocrm.colours import (
    AGE,
    NO_VALUE_COLOUR,
    SEQUENTIAL,
    categorical_colours,
    safe_colour,
    stage_colour,
)
from geocrm.core.account_filters import AccountFilters
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import label
from geocrm.models import Account, Stage, Territory, User, utcnow

CUSTOM_PREFIX = "custom:"
#: The fixed ways to colour; ``custom:<key>`` adds one per custom field.
BUILT_IN: tuple[tuple[str, Any], ...] = (
    ("stage", _l("Stage")),
    ("owner", _l("Owner")),
    ("territory", _l("Territory")),
    ("visit_age", _l("Last visit")),
    ("value", _l("Value")),
)
#: Days since the last visit at which the colour steps to the next one.
AGE_STEPS = (7, 30, 90, 365)
#: A custom field with more distinct values than this shows the most frequent ones and "Other".
MAX_CATEGORIES = 9
#: Custom field names offered in the selector (the most common first).
MAX_CUSTOM_KEYS = 40


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str


@dataclass(frozen=True)
class Colouring:
    """Per-point legend indexes and the legend."""

    by: str
    codes: list[int]
    legend: list[LegendEntry]

    def as_json(self) -> dict[str, Any]:
        return {"colourBy": self.by, "colour": self.codes,
                "legend": [{"label": e.label, "colour": e.colour} for e in self.legend]}


def custom_field_keys(user: User) -> list[str]:
    """Names of the custom fields on the accounts ``user`` can see, most used first.

    JSON object keys are listed by the database (``json_each`` on SQLite,
    ``json_object_keys`` on PostgreSQL), so no account is loaded for the selector.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # the function runs before WHERE: a row whose field is JSON null must give no keys
        objects = case((func.json_typeof(Account.custom_fields) == "object",
                        Account.custom_fields), else_=cast("{}", JSON))
        keys = func.json_object_keys(objects).table_valued("key").render_derived(name="k")
        key_col = keys.c.key
        base = select(key_col, func.count()).select_from(Account).join(keys, true())
    else:
        keys = func.json_each(Account.custom_fields).table_valued("key").alias("k")
        key_col = keys.c.key
        base = select(key_col, func.count()).select_from(Account).join(keys, true()).where(
            func.json_type(Account.custom_fields) == "object")
    stmt = scope_accounts(base.where(Account.archived.is_(False)), user)
    rows = db.session.execute(
        stmt.group_by(key_col).order_by(func.count().desc(), key_col).limit(MAX_CUSTOM_KEYS)
    ).all()
    return [str(r[0]) for r in rows if r[0]]


def colour_choices(user: User) -> list[tuple[str, str]]:
    """``(value, label)`` of every way to colour the markers this user may pick."""
    built_in = [(key, str(text)) for key, text in BUILT_IN]
    custom = [(CUSTOM_PREFIX + k, _("Field: %(name)s", name=k)) for k in custom_field_keys(user)]
    return built_in + custom


def parse_colour_by(args: Mapping[str, Any], user: User,
                    choices: Sequence[tuple[str, str]] | None = None) -> str:
    """The ``colour`` query value; one the selector could not have offered is a 422.

    ``choices`` when the caller has them (the page); else the custom field names are looked
    up only for a ``custom:`` value (the points endpoint stays one scan for built-ins).
    """
    value = str(args.get("colour") or "stage")
    if choices is not None:
        allowed = {key for key, _label in choices}
    elif value.startswith(CUSTOM_PREFIX):
        allowed = {CUSTOM_PREFIX + k for k in custom_field_keys(user)}
    else:
        allowed = {key for key, _label in BUILT_IN}
    if value not in allowed:
        raise ValidationError("colour", _("no way to colour the map by %(value)s", value=value))
    return value


def colouring(user: User, filters: AccountFilters, by: str,
              stages: Sequence[int], territories: Sequence[int]) -> Colouring:
    """Legend index of every point and the legend, for colouring ``by``.

    ``stages`` and ``territories`` are the points' columns already loaded for the map (stage
    index and territory id, in the points' order); the other colourings read one more column
    with the same filters and order.
    """
    if by == "stage":
        return _by_stage(stages)
    if by == "territory":
        return _by_territory(user, territories)
    column: Any
    if by == "owner":
        column = Account.owner_id
    elif by == "visit_age":
        column = Account.last_visit_at
    elif by == "value":
        column = Account.value
    elif by.startswith(CUSTOM_PREFIX):
        column = Account.custom_fields[by[len(CUSTOM_PREFIX):]]
    else:  # parse_colour_by let nothing else through
        raise ValidationError("colour", _("no way to colour the map by %(value)s", value=by))
    stmt = select(column).where(
        Account.lat.is_not(None), Account.lon.is_not(None), Account.archived.is_(False))
    values = db.session.scalars(filters.apply(scope_accounts(stmt, user)).order_by(Account.id)
                                ).all()
    if by == "owner":
        return _by_owner(values)
    if by == "visit_age":
        return _by_age(values)
    return _by_value(by, values)


def _by_stage(stages: Sequence[int]) -> Colouring:
    names = [s.value for s in Stage]
    return Colouring("stage", list(stages),
                     [LegendEntry(label(n), stage_colour(n)) for n in names])


def _by_territory(user: User, territories: Sequence[int]) -> Colouring:
    present = sorted(set(territories) - {0})
    rows = db.session.execute(
        scope_territories(select(Territory.id, Territory.name, Territory.color), user)
        .where(Territory.id.in_(present)).order_by(Territory.name, Territory.id)
    ).all() if present else []
    index = {r.id: i for i, r in enumerate(rows)}
    legend = [LegendEntry(r.name, safe_colour(r.color, r.id)) for r in rows]
    none = len(legend)
    legend.append(LegendEntry(_("Unassigned"), NO_VALUE_COLOUR))
    return Colouring("territory", [index.get(t, none) for t in territories], legend)


def _by_owner(owner_ids: Sequence[int | None]) -> Colouring:
    present = sorted({o for o in owner_ids if o is not None})
    rows = db.session.execute(
        select(User.id, User.name).where(User.id.in_(present)).order_by(User.name, User.id)
    ).all() if present else []
    index = {r.id: i for i, r in enumerate(rows)}
    colours = categorical_colours(len(rows))
    legend = [LegendEntry(r.name, colours[i]) for i, r in enumerate(rows)]
    none = len(legend)
    legend.append(LegendEntry(_("No owner"), NO_VALUE_COLOUR))
    return Colouring("owner", [index.get(o, none) if o is not None else none
                               for o in owner_ids], legend)


def _by_age(visits: Sequence[datetime | None]) -> Colouring:
    now = utcnow()
    steps = AGE_STEPS
    labels = [ngettext("visited in the last %(num)s day", "visited in the last %(num)s days",
                       steps[0])]
    labels += [_("%(low)s–%(high)s days ago", low=lo + 1, high=hi)
               for lo, hi in zip(steps[:-1], steps[1:], strict=True)]
    labels.append(_("more than %(num)s days ago", num=steps[-1]))
    legend = [LegendEntry(text, AGE[i]) for i, text in enumerate(labels)]
    never = len(legend)
    legend.append(LegendEntry(_("never visited"), NO_VALUE_COLOUR))
    codes = []
    for at in visits:
        if at is None:
            codes.append(never)
            continue
        days = (now - at).days
        codes.append(next((i for i, top in enumerate(steps) if days <= top), len(steps)))
    return Colouring("visit_age", codes, legend)


def _number(value: Any) -> float | None:
    """A JSON or column value as a finite number, or None (booleans are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _by_value(by: str, values: Sequence[Any]) -> Colouring:
    """Numbers in five equal-count steps; text (or a mix) by its most frequent values."""
    present = [v for v in values if v is not None and v != ""]
    numbers = [_number(v) for v in present]
    if by == "value" or (present and all(n is not None for n in numbers)):
        return _numeric(by, [_number(v) for v in values])
    return _categorical(by, values)


def _numeric(by: str, numbers: Sequence[float | None]) -> Colouring:
    known = sorted(n for n in numbers if n is not None)
    steps: list[float] = []
    if known:
        # quantile edges, without repeats (many equal values make fewer steps)
        for q in range(1, len(SEQUENTIAL)):
            edge = known[min(len(known) - 1, (len(known) * q) // len(SEQUENTIAL))]
            if edge < known[-1] and (not steps or edge > steps[-1]):
                steps.append(edge)
    bounds = [known[0] if known else 0.0, *steps, known[-1] if known else 0.0]
    legend = []
    colours = SEQUENTIAL[-(len(bounds) - 1):] if len(bounds) > 1 else SEQUENTIAL[:1]
    for i in range(len(bounds) - 1):
        lo, hi = format_decimal(bounds[i]), format_decimal(bounds[i + 1])
        if lo == hi:
            text = lo
        elif i == 0:
            text = _("%(low)s to %(high)s", low=lo, high=hi)
        else:
            text = _("over %(low)s to %(high)s", low=lo, high=hi)
        legend.append(LegendEntry(text, colours[i]))
    if not known:
        legend = []
    none = len(legend)
    legend.append(LegendEntry(_("no value"), NO_VALUE_COLOUR))
    codes = []
    for n in numbers:
        if n is None:
            codes.append(none)
        else:
            codes.append(sum(1 for s in steps if n > s))
    return Colouring(by, codes, legend)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, dict)):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value).strip()


def _categorical(by: str, values: Sequence[Any]) -> Colouring:
    texts = [_text(v) if v is not None else "" for v in values]
    counts = Counter(t for t in texts if t)
    top = [t for t, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    shown = top if len(top) <= MAX_CATEGORIES + 1 else top[:MAX_CATEGORIES]
    colours = categorical_colours(len(shown))
    legend = [LegendEntry(t, colours[i]) for i, t in enumerate(shown)]
    index = {t: i for i, t in enumerate(shown)}
    other = None
    if len(shown) < len(top):
        other = len(legend)
        legend.append(LegendEntry(
            ngettext("%(num)s other value", "%(num)s other values", len(top) - len(shown)),
            "#4b5563"))
    none = len(legend)
    legend.append(LegendEntry(_("empty"), NO_VALUE_COLOUR))
    codes = [none if not t else index.get(t, other if other is not None else none)
             for t in texts]
    return Colouring(by, codes, legend)
