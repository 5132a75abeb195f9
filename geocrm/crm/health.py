"""Data health: the accounts whose data a manager should fix, counted and listed.

Every check is a scoped SQL condition, so the page shows each user the problems in what
they may see, and the counts come from one ``GROUP BY``-free aggregate per check.

* no coordinates: no pin at all (the planner and the map cannot use the account);
* low-confidence location: a pin whose ``location_confidence`` is below
  :data:`LOW_CONFIDENCE` (a geocoder's guess at a street, a postcode centroid...);
* stale: not updated and not visited for :data:`STALE_DAYS` days;
* missing from import: the last import snapshot no longer contained it;
* pin disputed by a check-in: a verified check-in (GPS within
  :data:`geocrm.crm.services.PIN_MAX_ACCURACY_M`) more than
  :data:`geocrm.crm.services.PIN_MIN_OFFSET_M` away, the candidates for a pin correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from geocrm.access import scope_accounts
from geocrm.core.geocoding import LOW_CONFIDENCE
from geocrm.crm.services import PIN_MAX_ACCURACY_M, PIN_MAX_OFFSET_M, PIN_MIN_OFFSET_M
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import label, local_date
from geocrm.models import Account, Interaction, InteractionKind, User
from geocrm.models.accounts import LocationSource
from geocrm.models.geocoding import AccountGeocode
from geocrm.spatial import haversine_m

STALE_DAYS = 365
# Lazy: each page shows them in its reader's language.
CHECKS = {
    "no_location": _l("Accounts without coordinates"),
    "low_confidence": _l("Low-confidence locations (confidence below %(value)s)",
                         value=LOW_CONFIDENCE),
    "stale": _l("Stale records (no update and no visit for %(days)s days)", days=STALE_DAYS),
    "missing": _l("Missing from the latest import"),
    "pin_disputed": _l("Pins a verified check-in disagrees with"),
}


def _condition(check: str, today: date) -> ColumnElement[bool]:
    cutoff = datetime.combine(today - timedelta(days=STALE_DAYS), time())
    if check == "no_location":
        return or_(Account.lat.is_(None), Account.lon.is_(None))
    if check == "low_confidence":
        return and_(Account.lat.is_not(None), Account.location_confidence < LOW_CONFIDENCE)
    if check == "stale":
        return and_(
            Account.updated_at < cutoff,
            or_(Account.last_visit_at.is_(None), Account.last_visit_at < cutoff),
        )
    if check == "missing":
        return Account.missing_since.is_not(None)
    raise KeyError(check)


@dataclass
class HealthRow:
    account: Any
    detail: str


def _disputed(user: User, limit: int | None) -> list[tuple[Any, str]]:
    """Accounts with a verified check-in 30 m – 2 km from the pin (newest check-in each)."""
    stmt = scope_accounts(
        select(Account.id, Account.name, Account.lat, Account.lon, Interaction.checkin_lat,
               Interaction.checkin_lon, Interaction.checkin_accuracy_m, Interaction.occurred_at)
        .join(Interaction, Interaction.account_id == Account.id)
        .where(
            Account.archived.is_(False),
            Account.lat.is_not(None),
            Interaction.kind == InteractionKind.VISIT,
            Interaction.checkin_lat.is_not(None),
            Interaction.checkin_accuracy_m <= PIN_MAX_ACCURACY_M,
            # Cheap prefilter (≥ ~30 m in either axis at 60°N); exact distance below.
            or_(func.abs(Interaction.checkin_lat - Account.lat) > 0.00025,
                func.abs(Interaction.checkin_lon - Account.lon) > 0.0005),
        ),
        user,
    ).order_by(Account.id, Interaction.occurred_at.desc())
    seen: set[int] = set()
    out = []
    for aid, name, lat, lon, clat, clon, acc, _at in db.session.execute(stmt):
        if aid in seen:
            continue
        seen.add(aid)
        d = haversine_m(lat, lon, clat, clon)
        if PIN_MIN_OFFSET_M <= d <= PIN_MAX_OFFSET_M:
            out.append(((aid, name), _("check-in %(metres)s m from the pin (±%(accuracy)s m)",
                                        metres=format(d, ".0f"), accuracy=format(acc, ".0f"))))
        if limit is not None and len(out) >= limit:
            break
    return out


def _geocode_grades(account_ids: list[int]) -> dict[int, str]:
    """The geocoder's named grade of these accounts' pins, where the geocoder placed them."""
    if not account_ids:
        return {}
    stmt = (select(AccountGeocode.account_id, AccountGeocode.confidence)
            .join(Account, Account.id == AccountGeocode.account_id)
            .where(AccountGeocode.account_id.in_(account_ids),
                   AccountGeocode.confidence.is_not(None),
                   Account.location_source == LocationSource.GEOCODER.value))
    return {aid: grade for aid, grade in db.session.execute(stmt)}


# What the geocoder did with a pinless account's address (geocrm.models.geocoding).
GEOCODE_STATES = {
    "pending": _l("no pin yet: waiting for the geocoder"),
    "not_found": _l("no pin: the geocoder did not find the address"),
    "no_address": _l("no pin and no address to place it by"),
    "failed": _l("no pin: the geocoder did not answer; retried on the next run"),
}


def _geocode_states(account_ids: list[int]) -> dict[int, str]:
    """The geocoder's state of these accounts (pending, not found...)."""
    if not account_ids:
        return {}
    return dict(db.session.execute(select(AccountGeocode.account_id, AccountGeocode.status)
                                   .where(AccountGeocode.account_id.in_(account_ids))).all())


def health_counts(user: User, today: date) -> dict[str, int]:
    """How many visible, non-archived accounts fail each check."""
    out = {}
    for check in CHECKS:
        if check == "pin_disputed":
            out[check] = len(_disputed(user, None))
            continue
        stmt = scope_accounts(
            select(func.count(Account.id)).where(Account.archived.is_(False),
                                                 _condition(check, today)),
            user,
        )
        out[check] = int(db.session.scalar(stmt) or 0)
    return out


def health_list(user: User, check: str, today: date, *, limit: int = 200) -> list[HealthRow]:
    """The accounts failing one check (first ``limit``), with what is wrong."""
    if check not in CHECKS:
        raise ValidationError("check", f"must be one of {', '.join(CHECKS)}")
    if check == "pin_disputed":
        return [HealthRow(a, d) for a, d in _disputed(user, limit)]
    stmt = scope_accounts(
        select(Account.id, Account.name, Account.location_source, Account.location_confidence,
               Account.updated_at, Account.last_visit_at, Account.missing_since)
        .where(Account.archived.is_(False), _condition(check, today)),
        user,
    ).order_by(Account.name, Account.id).limit(limit)
    found = db.session.execute(stmt).all()
    grades = _geocode_grades([r[0] for r in found]) if check == "low_confidence" else {}
    states = _geocode_states([r[0] for r in found]) if check == "no_location" else {}
    rows = []
    for aid, name, src, conf, updated, last, missing in found:
        if check == "no_location":
            state = states.get(aid, "")
            detail = str(GEOCODE_STATES[state]) if state in GEOCODE_STATES else _("no pin")
        elif check == "low_confidence":
            detail = _("%(source)s, confidence %(value)s",
                       source=label(src) if src else _("unknown source"), value=format(conf, ".2f"))
            if aid in grades:
                detail = _("%(detail)s (%(grade)s)", detail=detail, grade=label(grades[aid]))
        elif check == "stale":
            seen = local_date(last) if last else _("never visited")
            detail = _("updated %(date)s, last visit: %(seen)s", date=local_date(updated),
                       seen=seen)
        else:
            detail = _("missing since %(date)s", date=local_date(missing))
        rows.append(HealthRow((aid, name), detail))
    return rows
