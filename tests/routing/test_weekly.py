"""Weekly planning with cadences: due dates, days off, balance, compact days, reasons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from routing import (
    Account,
    Cadence,
    Location,
    ModelError,
    Rep,
    RepWeek,
    TimeWindow,
    WeekProblem,
    WeekReason,
    occurrences,
    plan_week,
)
from tests.routing.helpers import HOME, H, at, fast

MON = date(2025, 3, 3)  # a Monday
FAST = fast(solution_limit=50)


def rep_week(rep_id: str = "anna", **kw) -> RepWeek:
    rep = Rep(rep_id, kw.pop("home", HOME), TimeWindow(8 * H, 16 * H),
              max_visits=kw.pop("max_visits", None))
    return RepWeek(rep, **kw)


def account(aid: str, where: Location, cadence: Cadence | None = None, **kw) -> Account:
    kw.setdefault("duration", 1800)
    kw.setdefault("last_visit", MON - timedelta(days=5))
    return Account(aid, where, cadence=cadence or Cadence.weekly(), **kw)


def week(reps, accounts, days=5, **kw):
    problem = WeekProblem(tuple(reps), tuple(accounts), MON, MON + timedelta(days=days - 1),
                          **kw)
    return plan_week(problem, time_limit_per_day=1.0, params=FAST)


def test_cadence_tolerances():
    """Weekly ±2 days, fortnightly ±4, monthly ±9, four a month ±2: windows never overlap."""
    assert Cadence.weekly().tolerance_days == 2
    assert Cadence.fortnightly().tolerance_days == 4
    assert Cadence.monthly().tolerance_days == 9
    assert Cadence.per_month(4).tolerance_days == 2
    with pytest.raises(ModelError):
        Cadence.per_month(0)


def test_occurrences_from_last_visit():
    """Weekly, last visited Saturday 1 March: due 8 and 15 March in the fortnight from the
    3rd, each ±2 days (clipped to the range's end, the 16th)."""
    a = account("a", HOME, last_visit=date(2025, 3, 1))
    occ = occurrences(a, MON, MON + timedelta(days=13))
    assert [(o.due, o.earliest, o.latest) for o in occ] == [
        (date(2025, 3, 8), date(2025, 3, 6), date(2025, 3, 10)),
        (date(2025, 3, 15), date(2025, 3, 13), date(2025, 3, 16))]


def test_occurrences_overdue_never_visited_and_pinned():
    """Never visited: due at once; overdue: as soon as possible; an appointment replaces the
    cadence visit due near it."""
    never = occurrences(account("n", HOME, Cadence.monthly(), last_visit=None), MON,
                        MON + timedelta(days=13))
    assert [(o.due, o.earliest, o.latest) for o in never] == [(MON, MON, MON + timedelta(9))]
    overdue = occurrences(account("o", HOME, Cadence.fortnightly(),
                                  last_visit=MON - timedelta(days=30)), MON,
                          MON + timedelta(days=20))
    assert overdue[0].earliest == MON and overdue[0].latest == MON + timedelta(days=4)
    assert [o.due for o in overdue][1:] == [MON + timedelta(days=14)]
    pinned = occurrences(account("p", HOME, last_visit=MON - timedelta(days=5),
                                 pinned_days=(MON + timedelta(days=3),)), MON,
                         MON + timedelta(days=4))
    assert [(o.due, o.pinned) for o in pinned] == [(MON + timedelta(days=3), True)]


def test_days_off_holidays_and_closures_are_respected():
    """Nothing on Anna's day off, the holiday, or a day the account is closed."""
    closed_monday = ((),) + tuple((TimeWindow(8 * H, 18 * H),) for _ in range(6))
    accounts = [account(f"a{i}", at(0.002 * i), last_visit=MON - timedelta(days=7),
                        hours=closed_monday if i % 2 else None) for i in range(10)]
    plan = week([rep_week(days_off=frozenset({MON + timedelta(days=2)}))], accounts,
                holidays=frozenset({MON + timedelta(days=3)}))
    days = {p.day for p in plan.placements}
    assert MON + timedelta(days=2) not in days and MON + timedelta(days=3) not in days
    assert all(p.day != MON for p in plan.placements if int(p.account_id[1:]) % 2)
    assert len(plan.placements) == 10 and not plan.unplaced


def test_balanced_days():
    """Fifteen weekly one-hour visits round the home, five days: three visits a day."""
    accounts = [account(f"a{i:02d}", at(0.01 * ((i * 7) % 15 - 7) / 7, 0.02 * ((i * 4) % 15 - 7)
                                        / 7), duration=H, last_visit=MON - timedelta(days=5))
                for i in range(15)]
    plan = week([rep_week()], accounts)
    per_day = sorted(sum(1 for p in plan.placements if p.day == MON + timedelta(days=d))
                     for d in range(5))
    assert per_day == [3, 3, 3, 3, 3]


def test_days_are_geographically_tight():
    """Two far-apart clusters and two working days: each day serves one cluster."""
    due_monday = MON - timedelta(days=7)
    west = [account(f"w{i}", at(0.001 * i, -0.3), duration=H, last_visit=due_monday)
            for i in range(4)]
    east = [account(f"e{i}", at(0.001 * i, 0.3), duration=H, last_visit=due_monday)
            for i in range(4)]
    plan = week([rep_week(working_days=frozenset({0, 1}))], west + east, days=2)
    by_day: dict[date, set[str]] = {}
    for p in plan.placements:
        by_day.setdefault(p.day, set()).add(p.account_id[0])
    assert sorted(by_day.values(), key=sorted) == [{"e"}, {"w"}]


def test_pinned_day_is_kept():
    """An appointment on Thursday happens on Thursday, whatever would be cheaper."""
    accounts = [account("appt", at(0.2), pinned_days=(MON + timedelta(days=3),)),
                *[account(f"a{i}", at(0.001 * i)) for i in range(6)]]
    plan = week([rep_week()], accounts)
    appt = [p for p in plan.placements if p.account_id == "appt"]
    assert [p.day for p in appt] == [MON + timedelta(days=3)]


def test_full_days_and_missing_working_days_have_reasons():
    """Too much work for the days gives days_full; a window with no working day gives
    no_working_day; an account whose rep is not planned gives no_rep."""
    heavy = [account(f"h{i}", at(0.001 * i), duration=3 * H) for i in range(12)]
    saturdays = tuple(() for _ in range(5)) + ((TimeWindow(9 * H, 13 * H),), ())
    lonely = account("weekend", at(0.01), hours=saturdays)  # due Monday ±2, open Saturdays
    orphan = account("orphan", at(0.01), rep_id="carl")
    plan = week([rep_week(working_days=frozenset({0, 1, 2}))], heavy + [lonely, orphan])
    reasons = {u.account_id: u.reason for u in plan.unplaced}
    # Three days of 8 hours hold two 3-hour visits each (travel included): six of twelve.
    assert sum(1 for p in plan.placements if p.account_id.startswith("h")) == 6
    assert [r for a, r in reasons.items() if a.startswith("h")] == [WeekReason.DAYS_FULL] * 6
    assert reasons["weekend"] == WeekReason.NO_WORKING_DAY
    assert reasons["orphan"] == WeekReason.NO_REP
    assert all(u.text for u in plan.unplaced)


def test_two_reps_take_their_own_accounts_and_the_nearest_free_ones():
    """Accounts with a rep stay with them; free accounts go to the nearest rep."""
    reps = [rep_week("anna"), rep_week("bert", home=at(0, 0.4))]
    accounts = [account("mine", at(0, 0.39), rep_id="anna"),
                account("near-b", at(0.001, 0.41)), account("near-a", at(0.001, 0.01))]
    plan = week(reps, accounts)
    who = {p.account_id: p.rep_id for p in plan.placements}
    assert who == {"mine": "anna", "near-b": "bert", "near-a": "anna"}
    for d in plan.days:  # every day's plan has a route for each rep working that day
        assert {r.rep_id for r in d.plan.routes} == {"anna", "bert"}


def test_same_input_same_week():
    """Deterministic: the same problem gives the same placements and routes."""
    accounts = [account(f"a{i}", at(0.003 * (i % 5), 0.004 * (i // 5)),
                        [Cadence.weekly(), Cadence.fortnightly(), Cadence.per_month(2)][i % 3],
                        last_visit=MON - timedelta(days=i % 9)) for i in range(20)]
    a = week([rep_week()], accounts, days=10)
    b = week([rep_week()], accounts, days=10)
    assert a.placements == b.placements
    assert [d.plan.routes for d in a.days] == [d.plan.routes for d in b.days]


def test_week_problem_validation():
    """Bad periods and duplicate ids are refused, naming the field."""
    with pytest.raises(ModelError) as err:
        WeekProblem((rep_week(),), (), MON, MON - timedelta(days=1))
    assert err.value.field == "end"
    with pytest.raises(ModelError) as err:
        WeekProblem((rep_week(),), (account("a", HOME), account("a", HOME)), MON, MON)
    assert err.value.field == "accounts"
    with pytest.raises(ModelError) as err:
        account("a", HOME, hours=((),))
    assert err.value.field == "hours"


def _per_rep(plan, reps) -> dict[str, int]:
    counts = dict.fromkeys((r.rep.id for r in reps), 0)
    for p in plan.placements:
        counts[p.rep_id] += 1
    return counts


def _balance_week(objective: str, max_spread: float = 1.2):
    """30 weekly accounts around anna's home; bert and carl live 10 and 20 km away."""
    reps = [rep_week("anna"), rep_week("bert", home=at(0.09)), rep_week("carl", home=at(0, 0.3))]
    accounts = [account(f"a{i:02d}", at(0.004 * (i % 6) + 0.01, 0.005 * (i // 6)))
                for i in range(30)]
    problem = WeekProblem(tuple(reps), tuple(accounts), MON, MON + timedelta(days=4))
    plan = plan_week(problem, time_limit_per_day=1.0, params=FAST, objective=objective,
                     max_spread=max_spread)
    return reps, plan


def test_balanced_week_spreads_visits_within_the_stated_ratio():
    """Nearest-rep gives anna all 30 visits; the balanced default gives max/min ≤ 1.2."""
    reps, old = _balance_week("least_driving")
    before = _per_rep(old, reps)
    assert before["anna"] == 30 and before["bert"] == 0
    reps, new = _balance_week("balanced")
    after = _per_rep(new, reps)
    assert sum(after.values()) == 30 and not new.unplaced
    assert max(after.values()) / min(after.values()) <= 1.2
    assert any("max/min" in n and "goal ≤ 1.2" in n for n in new.notes)
    assert not any("not possible" in n for n in new.notes)


def test_balanced_week_keeps_pinned_accounts_with_their_rep():
    """Accounts with their own rep stay with that rep; the free ones even out the rest."""
    reps = [rep_week("anna"), rep_week("bert", home=at(0.09))]
    accounts = [account(f"own{i}", at(0.01 + 0.002 * i), rep_id="anna") for i in range(4)]
    accounts += [account(f"b{i}", at(0.01, 0.003 * i), rep_id="bert") for i in range(3)]
    accounts += [account(f"f{i:02d}", at(0.012 + 0.002 * (i % 4), 0.004 * (i // 4)))
                 for i in range(13)]
    plan = week(reps, accounts)
    who = {p.account_id: p.rep_id for p in plan.placements}
    assert all(who[f"own{i}"] == "anna" for i in range(4))
    assert all(who[f"b{i}"] == "bert" for i in range(3))
    counts = _per_rep(plan, reps)
    assert counts == {"anna": 10, "bert": 10}


def test_balance_impossible_is_said_in_the_notes():
    """Anna's own accounts outnumber bert's 6 to 1 and none are free: the notes say why."""
    reps = [rep_week("anna"), rep_week("bert", home=at(0.09))]
    accounts = [account(f"a{i}", at(0.01 + 0.002 * i), rep_id="anna") for i in range(6)]
    accounts.append(account("b0", at(0.09), rep_id="bert"))
    plan = week(reps, accounts)
    assert _per_rep(plan, reps) == {"anna": 6, "bert": 1}
    said = [n for n in plan.notes if "not possible" in n]
    assert said and "anna's own accounts" in said[0]


def test_unknown_objective_is_refused():
    """plan_week names the objective (and a spread under 1) it cannot use."""
    problem = WeekProblem((rep_week(),), (account("a", HOME),), MON, MON)
    with pytest.raises(ModelError) as err:
        plan_week(problem, objective="fastest")
    assert err.value.field == "objective" and "balanced" in str(err.value)
    with pytest.raises(ModelError) as err:
        plan_week(problem, max_spread=0.9)
    assert err.value.field == "max_spread"
