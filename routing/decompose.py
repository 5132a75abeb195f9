"""Large team days, split by territory so that OR-Tools works where it shines.

Measured (ROUTING-NOTES): at 500–1,000 stops OR-Tools does not even finish its first
improvement pass in 10 s, while 10–25-stop field days for a few reps solve in well under a
second. So a large day is planned in three steps:

1. **Assign** visits to reps as a capacitated k-means: each visit costs half its way from
   the rep's home plus its way from the centre of the rep's cluster (the homes at first, or
   sweep sectors when reps share one base); an optimal min-cost flow gives every rep at most
   their estimated number of visits (working time less breaks, over a typical visit's time
   plus local travel; never above max visits); centres move to their clusters and the
   assignment is redone a few times. Visits beyond the team's capacity go to their
   cheapest rep by regret (must-visit, then priority first). Pinned visits and skills are
   respected; a visit a rep cannot reach in their shift is never given to them.
2. **Solve** neighbouring reps together (groups of about ``group_visits`` visits) so that
   OR-Tools can still trade visits across a shared border; then (``rounds``) cut the team
   along other borders and go on from the current routes, so visits can also move between
   reps who were in different groups.
3. **Repair** once: visits a group left out are offered to the nearest other group with
   time to spare, which is re-solved starting from its current routes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from routing.daymodel import (
    DayModel,
    FixedMatrices,
    SolveParams,
    eligible_reps,
    left_out_reason,
    penalty,
    precheck,
    rank,
    solve_direct,
    travel_matrices,
)
from routing.matrix import EARTH_M, Matrices, TravelProvider, haversine_matrix
from routing.model import (
    REASON_TEXT,
    Location,
    Plan,
    Problem,
    Reason,
    Rep,
    RepRoute,
    Unassigned,
    Visit,
)
from routing.search import Helper, pyvrp_installed, solve_engine_day

RESERVE = 0.85  # share of a rep's working time planned for visits and local travel
ITERATIONS = 5  # capacity-aware k-means rounds when assigning visits to reps
HOME_WEIGHT = 0.5  # of the way from home, against the way from the cluster centre
REPAIRABLE = {Reason.DROPPED_FOR_PRIORITY, Reason.CAPACITY, Reason.NO_ROOM}


def _order_key(v: Visit) -> tuple[int, int]:
    return (0 if v.must_visit else 1, v.priority)


def assign_to_reps(problem: Problem, travel: Matrices) -> tuple[list[int], list[Unassigned]]:
    """Rep index for every visit (-1: nobody can do it) and the reasons for those.

    ``travel`` covers the rep starts, then rep ends, then visits, in that order, at one
    speed: it only ranks reps by proximity and estimates local travel.
    """
    reps, visits = problem.reps, problem.visits
    k, n = len(reps), len(visits)
    t = travel.travel_s
    start_node, end_node = list(range(k)), list(range(k, 2 * k))
    owner = [-1] * n
    reasons: list[Unassigned] = []
    feasible: list[list[int]] = []
    for j, v in enumerate(visits):
        eligible = eligible_reps(v, reps)
        ok = [i for i in eligible
              if precheck(v, reps, [i], travel, start_node, end_node, 2 * k + j) is None]
        if not ok:
            reason = precheck(v, reps, eligible, travel, start_node, end_node, 2 * k + j)
            reason = reason or Reason.SHIFT_TOO_SHORT
            reasons.append(Unassigned(v.id, reason, REASON_TEXT[reason]))
        feasible.append(ok)
    if n == 0:
        return owner, reasons
    vt = t[2 * k:, 2 * k:].astype(float)
    np.fill_diagonal(vt, np.inf)
    nearest = np.where(np.isfinite(vt.min(axis=1)), vt.min(axis=1), 0.0) if n > 1 \
        else np.zeros(1)
    cost = np.array([v.duration for v in visits], dtype=float) + nearest
    capacity = np.array([RESERVE * (r.shift.end - r.shift.start - sum(b.duration
                                                                      for b in r.breaks))
                         for r in reps])
    count_cap = [r.max_visits if r.max_visits is not None else n for r in reps]
    home = (t[:k, 2 * k:].T + t[2 * k:, k:2 * k]).astype(float) / 2  # visits × reps
    able = np.full((n, k), False)
    for j, ok in enumerate(feasible):
        able[j, ok] = True
    lat = np.array([v.location.lat for v in visits])
    lon = np.array([v.location.lon for v in visits])
    pace = _pace(visits, t[2 * k:, 2 * k:])
    centres = _seeds(problem, lat, lon)
    for _ in range(ITERATIONS):
        # Cost: half the way from home plus the way from the rep's current cluster centre, so
        # that territories stay compact even when reps share a home (one depot).
        near = _metres_to(lat, lon, centres) * pace
        cost_ij = np.where(able, HOME_WEIGHT * home + near, np.inf)
        slots = [min(count_cap[i], int(capacity[i] // max(1.0, float(np.median(cost)))))
                 for i in range(k)]
        new_owner = transport(np.rint(cost_ij), slots)
        # Visits that found no slot (the team is over capacity): cheapest rep, by regret.
        spill = [j for j in range(n) if new_owner[j] < 0 and np.isfinite(cost_ij[j]).any()]
        if spill:
            rest = _regret_fill(cost_ij[spill], [visits[j] for j in spill], cost[spill],
                                capacity * 10, [n] * k)
            for j, i in zip(spill, rest, strict=True):
                new_owner[j] = i
        if new_owner == owner:
            break
        owner = new_owner
        for i in range(k):
            mine = [j for j in range(n) if owner[j] == i]
            if mine:
                centres[i] = (float(lat[mine].mean()), float(lon[mine].mean()))
    return owner, reasons


def transport(cost: np.ndarray, capacity: Sequence[int]) -> list[int]:
    """Cheapest assignment of rows (visits) to columns (reps) under column capacities.

    ``cost`` is rows × columns, ``inf`` where not allowed. A min-cost flow (OR-Tools'
    graph solver): optimal, unlike a greedy fill. Rows that find no room keep -1.
    """
    from ortools.graph.python import min_cost_flow

    n, k = cost.shape
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink, overflow = n + k, n + k + 1, n + k + 2
    finite = np.isfinite(cost)
    big = int(np.max(cost[finite])) * 10 + 1 if finite.any() else 1
    tails, heads, caps, costs = [], [], [], []
    for j in range(n):
        tails.append(source)
        heads.append(j)
        caps.append(1)
        costs.append(0)
        for col in np.flatnonzero(finite[j]).tolist():
            tails.append(j)
            heads.append(n + col)
            caps.append(1)
            costs.append(int(cost[j, col]))
        tails.append(j)  # no room anywhere: the row stays unassigned, at a high price
        heads.append(overflow)
        caps.append(1)
        costs.append(big)
    for i in range(k):
        tails.append(n + i)
        heads.append(sink)
        caps.append(max(0, int(capacity[i])))
        costs.append(0)
    tails.append(overflow)
    heads.append(sink)
    caps.append(n)
    costs.append(0)
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails), np.array(heads), np.array(caps), np.array(costs))
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    owner = [-1] * n
    if flow.solve() != flow.OPTIMAL:
        return owner
    for a in arcs:
        if flow.flow(a) > 0 and flow.tail(a) < n and n <= flow.head(a) < n + k:
            owner[int(flow.tail(a))] = int(flow.head(a)) - n
    return owner



def _regret_fill(cost_ij: np.ndarray, visits: Sequence[Visit], load_of: np.ndarray,
                 capacity: np.ndarray, count_cap: Sequence[int]) -> list[int]:
    """Hardest visits first (must, priority, regret); each to its cheapest rep with room."""
    n, k = cost_ij.shape
    owner = [-1] * n
    load = np.zeros(k)
    count = [0] * k
    regret = []
    for j in range(n):
        row = np.sort(cost_ij[j][np.isfinite(cost_ij[j])])
        regret.append(float(row[1] - row[0]) if len(row) > 1 else 1e18)
    order = sorted((j for j in range(n) if np.isfinite(cost_ij[j]).any()),
                   key=lambda j: (*_order_key(visits[j]), -regret[j], j))
    for j in order:
        ranked = sorted((i for i in range(k) if np.isfinite(cost_ij[j, i])),
                        key=lambda i: (float(cost_ij[j, i]), i))
        fits = [i for i in ranked
                if load[i] + load_of[j] <= capacity[i] and count[i] < count_cap[i]]
        i = fits[0] if fits else ranked[0]
        owner[j] = i
        load[i] += load_of[j]
        count[i] += 1
    return owner


def _pace(visits: Sequence[Visit], travel: np.ndarray) -> float:
    """Seconds per straight-line metre, read off the travel matrix (circuity and speed)."""
    if len(visits) < 2:
        return 0.1
    straight = haversine_matrix([v.location for v in visits])
    mask = straight > 1
    if not mask.any():
        return 0.1
    return float(np.median(travel[mask] / straight[mask]))


def _seeds(problem: Problem, lat: np.ndarray, lon: np.ndarray) -> list[tuple[float, float]]:
    """Starting cluster centres: the homes, or sweep sectors when reps share one base."""
    reps = problem.reps
    homes = [(r.start.lat, r.start.lon) for r in reps]
    if len(lat) == 0:
        return homes
    spread_homes = max(_km(reps[0].start, r.start) for r in reps)
    mid = Location(float(np.mean([h[0] for h in homes])), float(np.mean([h[1] for h in homes])))
    spread_visits = float(np.median(_metres_to(lat, lon, [(mid.lat, mid.lon)]))) / 1000
    if spread_homes > 0.1 * spread_visits:
        return homes
    angle = np.arctan2(lat - mid.lat, (lon - mid.lon) * np.cos(np.radians(mid.lat)))
    order = np.argsort(angle, kind="stable")
    sectors = np.array_split(order, len(reps))
    return [(float(lat[sec].mean()), float(lon[sec].mean())) if len(sec) else homes[i]
            for i, sec in enumerate(sectors)]


def _metres_to(lat: np.ndarray, lon: np.ndarray,
               centres: Sequence[tuple[float, float]]) -> np.ndarray:
    """Great-circle metres from each point (rows) to each centre (columns)."""
    p1 = np.radians(lat)[:, None]
    p2 = np.radians(np.array([c[0] for c in centres]))[None, :]
    dl = np.radians(np.array([c[1] for c in centres]))[None, :] - np.radians(lon)[:, None]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))))


def group_reps(problem: Problem, owner: Sequence[int], target: int,
               inside_out: bool = False) -> list[list[int]]:
    """Neighbouring reps in groups of about ``target`` visits (at least one rep each).

    Groups grow from the rep farthest from the others' centre; ``inside_out`` grows them
    from the nearest instead, which cuts the team along other borders (the second round).
    """
    reps = problem.reps
    load = [0] * len(reps)
    for i in owner:
        if i >= 0:
            load[i] += 1
    left = list(range(len(reps)))
    groups = []
    while left:
        lat = np.mean([reps[i].start.lat for i in left])
        lon = np.mean([reps[i].start.lon for i in left])
        centre = Location(float(lat), float(lon))
        far = -1.0 if inside_out else 1.0
        seed = max(left, key=lambda i: (far * _km(reps[i].start, centre), -i))
        by_near = sorted(left, key=lambda i: (_km(reps[i].start, reps[seed].start), i))
        group: list[int] = []
        size = 0
        for i in by_near:
            if group and size + load[i] > target * 1.25:
                break
            group.append(i)
            size += load[i]
            if size >= target:
                break
        groups.append(sorted(group))
        left = [i for i in left if i not in group]
    return groups


def _km(a: Location, b: Location) -> float:
    dlat = (a.lat - b.lat) * 111.2
    dlon = (a.lon - b.lon) * 111.2 * float(np.cos(np.radians((a.lat + b.lat) / 2)))
    return float(np.hypot(dlat, dlon))


def _slack(rep: Rep, route: RepRoute) -> int:
    if rep.max_visits is not None and len(route.stops) >= rep.max_visits:
        return 0
    return rep.shift.end - route.end


def solve_decomposed(problem: Problem, *, time_limit: float, params: SolveParams,
                     provider: TravelProvider) -> Plan:
    """Assign, solve neighbouring reps together, repair once; see the module docstring.

    With a second core and PyVRP, PyVRP plans the whole team meanwhile; its routes are
    checked rep by rep in OR-Tools' model and its plan is kept if it costs less (distance
    plus the prize of every visit left out, as in the model's objective).
    """
    started = time.perf_counter()
    reps, visits = problem.reps, problem.visits
    locations: list[Location] = [r.start for r in reps] + [r.home_end for r in reps]
    locations += [v.location for v in visits]
    speeds = sorted({r.speed_kmh for r in reps})
    mats = travel_matrices(provider, locations, speeds)
    fixed = FixedMatrices(locations, mats)
    helper = probe = day = None
    deadline = 0.0
    if params.iterated and pyvrp_installed() and params.uses_helper(time_limit):
        probe = DayModel(problem, fixed, only=())  # checks every visit, plans none
        day = probe.engine_day()
        reserve = min(1.0, 0.05 * time_limit)  # to check PyVRP's routes rep by rep (0.1 s)
        if day is not None:
            deadline = time.time() + time_limit - (time.perf_counter() - started) - reserve
            try:
                helper = Helper(day, deadline)
            except OSError:
                helper = None
        if helper is not None:
            time_limit -= reserve
    inner = replace(params, workers=1)  # the second core is PyVRP's (or nobody's)
    plan = None
    if helper is not None and probe is not None and day is not None \
            and params.main_engine == "pyvrp":
        # Like solve_direct: this process runs a second PyVRP seed on the whole team.
        mine = solve_engine_day(day, deadline - time.time(), seed=1)
        plan = checked_plan(probe, fixed, probe.engine_ids(mine), inner, started)
        plan = replace(plan, notes=(*plan.notes, "PyVRP planned the whole team (two seeds, "
                                    "one per core); the routes were checked rep by rep in "
                                    "OR-Tools' model"))
    if helper is None or probe is None:
        return _decompose(problem, time_limit, inner, mats, fixed, started)
    routes = helper.result()
    theirs = (checked_plan(probe, fixed, probe.engine_ids(routes), inner, started)
              if routes is not None else None)
    if plan is None:
        plan = _decompose(problem, time_limit, inner, mats, fixed, started)
        if theirs is not None and plan_cost(theirs, visits) < plan_cost(plan, visits):
            return replace(theirs, notes=(*theirs.notes,
                "PyVRP planned the whole team on the second core; its routes, checked rep by "
                "rep in OR-Tools' model, cost less than the split plan and are used"))
        return plan
    if theirs is not None and plan_cost(theirs, visits) < plan_cost(plan, visits):
        return replace(theirs, notes=plan.notes)
    return plan


def plan_cost(plan: Plan, visits: Sequence[Visit]) -> int:
    """The model's objective for any plan: metres driven plus the prize of every visit
    left out (so plans from different models compare the same way)."""
    served = plan.served
    return (sum(r.distance_m for r in plan.routes)
            + sum(penalty(v) for v in visits if v.id not in served))


def checked_plan(probe: DayModel, fixed: FixedMatrices, orders: Sequence[Sequence[str]],
                 params: SolveParams, started: float) -> Plan:
    """A whole team's visit orders, each rep's checked (and shortened until it passes) in
    its own OR-Tools model; every visit left out gets its reason."""
    problem = probe.problem
    by_id = {v.id: v for v in problem.visits}
    routes: list[RepRoute] = []
    for rep, order in zip(problem.reps, orders, strict=True):
        sub = Problem((rep,), tuple(by_id[v] for v in order), problem.circuity)
        model = DayModel(sub, fixed)
        model.close(1.0, params)
        found = model.accept_orders([[v for v in order if v in model.index_of]])
        routes.append(model.plan(found).routes[0])
    counts = [len(r.stops) for r in routes]
    top = [min((rank(by_id[s.visit_id]) for s in r.stops), default=9) for r in routes]
    served = {s.visit_id for r in routes for s in r.stops}
    unassigned = list(probe.unassigned)
    reps = problem.reps
    for j in probe.reachable:
        v = problem.visits[j]
        if v.id not in served:
            elig = probe.eligible[j]
            reason = left_out_reason(v, [reps[i] for i in elig], [counts[i] for i in elig],
                                     [top[i] for i in elig])
            unassigned.append(Unassigned(v.id, reason, REASON_TEXT[reason]))
    position = {v.id: i for i, v in enumerate(problem.visits)}
    unassigned.sort(key=lambda u: position[u.visit_id])
    plan = Plan(tuple(routes), tuple(unassigned), 0, time.perf_counter() - started,
                tuple(probe.warnings))
    return replace(plan, objective=plan_cost(plan, problem.visits))


def _decompose(problem: Problem, time_limit: float, params: SolveParams,
               mats: dict[float, Matrices], fixed: FixedMatrices, started: float) -> Plan:
    """The split plan itself (module docstring), on matrices computed once; the time
    limit counts from ``started``."""
    reps, visits = problem.reps, problem.visits
    k = len(reps)
    speeds = sorted(mats)
    warnings = list(dict.fromkeys(w for m in mats.values() for w in m.warnings))
    owner, unassigned = assign_to_reps(problem, mats[speeds[-1]])
    groups = group_reps(problem, owner, params.group_visits)
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    members_visits: list[list[Visit]] = [[] for _ in groups]
    for j, i in enumerate(owner):
        if i >= 0:
            # Pin the visit to its group's reps through the problem: only they are in it.
            members_visits[group_of[i]].append(visits[j])
    budget = max(0.1, time_limit - (time.perf_counter() - started))
    rounds = max(1, params.rounds)
    share = 0.9 * budget / rounds
    round_start = time.perf_counter()

    def limit_for(g: int, members_visits: list[list[Visit]], deadline: float) -> float:
        # What is left of the round, shared by visit count among the groups still to solve:
        # overheads early on come out of the later groups' time, not past the limit.
        left = max(1, sum(len(vs) for vs in members_visits[g:]))
        return max(0.05, (deadline - time.perf_counter()) * len(members_visits[g]) / left)

    plans: list[Plan] = []
    for g, members in enumerate(groups):
        sub = Problem(tuple(reps[i] for i in members), tuple(members_visits[g]),
                      problem.circuity)
        limit = limit_for(g, members_visits, round_start + share)
        plans.append(solve_direct(sub, time_limit=limit, params=params, provider=fixed))
    rep_index = {r.id: i for i, r in enumerate(reps)}
    for round_ in range(1, rounds):
        # Cut the team along other borders and go on from the current routes, so visits
        # can move between reps who were in different groups.
        holder = list(owner)
        position_of = {v.id: j for j, v in enumerate(visits)}
        routes_now: dict[int, list[str]] = {}
        for plan in plans:
            for route in plan.routes:
                i = rep_index[route.rep_id]
                routes_now[i] = [s.visit_id for s in route.stops]
                for stop in route.stops:
                    holder[position_of[stop.visit_id]] = i
        groups = group_reps(problem, holder, params.group_visits, inside_out=round_ % 2 == 1)
        group_of = {i: g for g, members in enumerate(groups) for i in members}
        members_visits = [[] for _ in groups]
        for j, i in enumerate(holder):
            if i >= 0:
                members_visits[group_of[i]].append(visits[j])
        plans = []
        deadline = round_start + share * (round_ + 1)
        for g, members in enumerate(groups):
            sub = Problem(tuple(reps[i] for i in members), tuple(members_visits[g]),
                          problem.circuity)
            limit = limit_for(g, members_visits, deadline)
            plans.append(solve_direct(sub, time_limit=limit, params=params, provider=fixed,
                                      initial=[routes_now.get(i, []) for i in members]))

    # Repair: offer repairable left-out visits to the nearest other group with time to spare.
    by_id = {v.id: v for v in visits}
    position = {v.id: j for j, v in enumerate(visits)}
    slack = {}
    for plan in plans:
        for route in plan.routes:
            i = rep_index[route.rep_id]
            slack[i] = _slack(reps[i], route)
    offers: dict[int, list[Visit]] = {}
    for g, plan in enumerate(plans):
        for u in plan.unassigned:
            if u.reason not in REPAIRABLE:
                continue
            v = by_id[u.visit_id]
            j = position[v.id]
            candidates = sorted(
                (i for i in eligible_reps(v, reps) if group_of[i] != g and slack[i] > v.duration),
                key=lambda i: (int(mats[speeds[-1]].travel_s[i, 2 * k + j]), i))
            if candidates:
                i = candidates[0]
                slack[i] -= v.duration + int(mats[speeds[-1]].travel_s[i, 2 * k + j])
                offers.setdefault(group_of[i], []).append(v)
    moved_in: set[str] = set()
    placed = 0
    if offers:
        remaining = max(0.05, time_limit - (time.perf_counter() - started))
        n_offers = sum(len(vs) + len(members_visits[g]) for g, vs in offers.items())
        for g, extra in sorted(offers.items()):
            sub = Problem(tuple(reps[i] for i in groups[g]),
                          tuple(members_visits[g] + extra), problem.circuity)
            current = [[s.visit_id for s in r.stops] for r in plans[g].routes]
            limit = max(0.05, remaining * (len(extra) + len(members_visits[g])) / n_offers)
            repaired = solve_direct(sub, time_limit=limit, params=params, provider=fixed,
                                    initial=current)
            if len(repaired.served) >= len(plans[g].served):
                plans[g] = repaired
                ids = {v.id for v in extra}
                moved_in |= ids
                placed += len(ids & repaired.served)
    # Merge: a visit offered to another group is unassigned only if that group left it out.
    routes = {r.rep_id: r for p in plans for r in p.routes}
    served = {s for p in plans for s in p.served}
    seen = {u.visit_id for u in unassigned}
    for g, plan in enumerate(plans):
        for u in plan.unassigned:
            if u.visit_id in served or u.visit_id in seen:
                continue
            if u.visit_id in moved_in and u.visit_id not in {v.id for v in offers.get(g, [])}:
                continue
            seen.add(u.visit_id)
            unassigned.append(u)
    order = {v.id: i for i, v in enumerate(visits)}
    unassigned.sort(key=lambda u: order[u.visit_id])
    sizes = [len(gr) for gr in groups]
    notes = warnings + [
        f"large problem ({len(visits)} visits, {k} reps): split by territory into "
        f"{len(groups)} sub-problems of {min(sizes)}–{max(sizes)} reps (visits given to reps "
        f"by home proximity and capacity in compact clusters, neighbouring reps solved together, "
        f"{rounds} round{'s' if rounds > 1 else ''} cut along different borders); "
        f"repair pass offered {sum(len(v) for v in offers.values())} left-out visits to "
        f"neighbouring reps and placed {placed}"]
    notes += [n for p in plans for n in p.notes if n not in notes]
    return Plan(tuple(routes[r.id] for r in reps), tuple(unassigned),
                sum(p.objective for p in plans), time.perf_counter() - started, tuple(notes))

