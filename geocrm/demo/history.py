"""The demo's past: six weeks of visits, calls, notes and emails, contacts, follow-up tasks and
opportunities, drawn from the load's seeded generator.

The draws happen in a fixed order (account by account: contacts, visits with their tasks, a
call or email, a note, an opportunity), so two loads with the same seed and day are identical;
keep that order when changing anything here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import insert

from geocrm.core.accounts import normalise_name
from geocrm.extensions import db
from geocrm.models import (
    Account,
    Contact,
    Interaction,
    InteractionKind,
    Opportunity,
    OpportunityStage,
    Stage,
    Task,
    TaskStatus,
    User,
)
from geocrm.models.activity import VISIT_OUTCOMES
from geocrm.spatial import haversine_m
from territories.geodesy import offset_m

HISTORY_DAYS = 42
FIRST = ["Aino", "Mikko", "Laura", "Juha", "Sanna", "Teemu", "Riikka", "Petri", "Emilia", "Ville",
         "Noora", "Antti", "Helmi", "Jussi", "Kaisa", "Olli", "Elina", "Markus", "Iida", "Tuomas"]
LAST = ["Virtanen", "Korhonen", "Nieminen", "Mäkinen", "Hämäläinen", "Laine", "Koskinen",
        "Heikkinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen", "Niemi", "Lahtinen"]
# The app's own outcome values (the demo used to write "not interested", "order placed" …).
OUTCOMES = list(VISIT_OUTCOMES)
NOTES = ["Talked to the owner about the spring range.", "Left samples and the new price list.",
         "Manager asked for a quote on the larger package.", "Busy lunch hour; came back later.",
         "Checked stock levels and shelf placement.", "Discussed delivery times.",
         "New staff member; introduced our service."]
TITLES = ["Owner", "Store manager", "Buyer", "Office manager"]
NEXT_STEPS = ["Send quote", "Call back next week", "Bring samples", "Book a demo",
              "Confirm delivery date", "Email the price list"]


def at(day: date, minutes: int) -> datetime:
    """``minutes`` after midnight of ``day`` (naive UTC, as the rows store it)."""
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def add_history(
    accounts: list[Account], reps: list[User], today: date, rng: np.random.Generator
) -> dict[str, int]:
    """Six weeks of visits, calls and emails, contacts, tasks and opportunities."""
    rep_ids = {r.id for r in reps}
    interactions: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    opportunities: list[dict[str, Any]] = []
    last_visit: dict[int, datetime] = {}
    for a in accounts:
        if a.owner_id not in rep_ids or a.lat is None or a.lon is None:
            continue
        contacts.extend(_contacts(a, rng))
        visits, follow_ups = _visits(a, today, rng)
        interactions.extend(visits)
        tasks.extend(follow_ups)
        for visit in visits:
            start = visit["occurred_at"]
            last_visit[a.id] = max(last_visit.get(a.id, start), start)
        interactions.extend(_calls_and_notes(a, today, rng))
        if a.stage == Stage.PROSPECT and rng.random() < 0.35:
            opportunities.append(_opportunity(a, today, rng))
    for table, batch in ((Interaction, interactions), (Task, tasks), (Contact, contacts),
                         (Opportunity, opportunities)):
        if batch:
            db.session.execute(insert(table), batch)
    for a in accounts:
        if a.id in last_visit:
            a.last_visit_at = last_visit[a.id]
    db.session.flush()
    return {"interactions": len(interactions), "tasks": len(tasks), "contacts": len(contacts),
            "opportunities": len(opportunities)}


def _contacts(a: Account, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One or two people at a prospect or customer (a lead has none yet)."""
    rows = []
    n_contacts = 0 if a.stage == Stage.LEAD else int(rng.integers(1, 3))
    for c in range(n_contacts):
        first, last = FIRST[int(rng.integers(len(FIRST)))], LAST[int(rng.integers(len(LAST)))]
        rows.append({
            "account_id": a.id, "name": f"{first} {last}",
            "title": TITLES[int(rng.integers(len(TITLES)))],
            "phone": f"+358 40 {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}",
            "email": f"{normalise_name(first)}.{normalise_name(last)}@example.com",
            "is_primary": c == 0,
        })
    return rows


def _visits(
    a: Account, today: date, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The account's visits on weekdays (12 % checked in outside the geofence) and the
    follow-up tasks of the last three weeks' visits."""
    assert a.lat is not None and a.lon is not None
    visits: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    if a.stage == Stage.CUSTOMER:
        n_visits = int(rng.integers(1, 4))
    elif a.stage == Stage.PROSPECT:
        n_visits = int(rng.integers(0, 3))
    else:
        n_visits = int(rng.random() < 0.15)
    days = sorted(rng.choice(np.arange(1, HISTORY_DAYS), size=n_visits, replace=False))
    for back in days:
        day = today - timedelta(days=int(back))
        if day.weekday() >= 5:
            day -= timedelta(days=day.weekday() - 4)
        start = at(day, int(rng.integers(9 * 60, 16 * 60)))
        far = rng.random() < 0.12
        metres = float(rng.uniform(200, 600) if far else rng.uniform(2, 60))
        lat, lon = offset_m(a.lat, a.lon, metres, float(rng.uniform(0, 2 * np.pi)))
        distance = haversine_m(lat, lon, a.lat, a.lon)
        outcome = OUTCOMES[int(rng.integers(len(OUTCOMES)))]
        next_step = None
        if rng.random() < 0.4:
            next_step = NEXT_STEPS[int(rng.integers(len(NEXT_STEPS)))]
        visits.append({
            "uuid": _uuid(rng), "user_id": a.owner_id, "account_id": a.id,
            "kind": InteractionKind.VISIT, "occurred_at": start, "checkin_at": start,
            "checkin_lat": round(lat, 7), "checkin_lon": round(lon, 7),
            "checkin_accuracy_m": round(float(rng.uniform(4, 25)), 1),
            "checkout_at": start + timedelta(minutes=a.visit_minutes),
            "checkout_lat": round(lat, 7), "checkout_lon": round(lon, 7),
            "distance_m": round(distance, 1),
            "location_flag": "outside_geofence" if distance > 150 else None,
            "outcome": outcome, "notes": NOTES[int(rng.integers(len(NOTES)))],
            "next_step": next_step,
        })
        if next_step and back < 21:
            tasks.append({
                "uuid": _uuid(rng),
                "title": f"{next_step}: {a.name}"[:200], "account_id": a.id,
                "assignee_id": a.owner_id, "created_by_id": a.owner_id,
                "due_date": day + timedelta(days=int(rng.integers(2, 14))),
                "status": TaskStatus.OPEN if rng.random() < 0.7 else TaskStatus.DONE,
            })
    return visits, tasks


def _calls_and_notes(a: Account, today: date, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Sometimes a call or an email (a quarter of the accounts), sometimes a note."""
    rows = []
    if rng.random() < 0.25:
        when = at(today - timedelta(days=int(rng.integers(1, HISTORY_DAYS))), 10 * 60)
        rows.append({
            "uuid": _uuid(rng), "user_id": a.owner_id,
            "account_id": a.id,
            "kind": InteractionKind.CALL if rng.random() < 0.6 else InteractionKind.EMAIL,
            "occurred_at": when, "outcome": "follow-up needed",
            "notes": "Checked in about the last order.",
        })
    if a.stage != Stage.LEAD and rng.random() < 0.1:
        rows.append({
            "uuid": _uuid(rng), "user_id": a.owner_id,
            "account_id": a.id, "kind": InteractionKind.NOTE,
            "occurred_at": at(today - timedelta(days=int(rng.integers(1, HISTORY_DAYS))),
                              15 * 60),
            "notes": NOTES[int(rng.integers(len(NOTES)))],
        })
    return rows


def _opportunity(a: Account, today: date, rng: np.random.Generator) -> dict[str, Any]:
    """A prospect's first order in the pipeline."""
    return {
        "account_id": a.id, "owner_id": a.owner_id, "name": f"{a.name} — first order",
        "stage": [OpportunityStage.QUALIFY, OpportunityStage.PROPOSAL,
                  OpportunityStage.NEGOTIATION][int(rng.integers(3))],
        "amount": Decimal(int(rng.integers(20, 400)) * 50),
        "expected_close": today + timedelta(days=int(rng.integers(7, 90))),
    }
