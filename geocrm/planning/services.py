"""Planning rules shared by the planner pages, the JSON endpoints, the CLI and the jobs.

The shape of it: a planner's request (reps, days, which accounts) is checked and frozen into
a :class:`~geocrm.models.planning.PlanRun` (:mod:`.request`); a background job
(:mod:`.job`) turns it into ``routing`` Problems (:mod:`.problem`; by cadence:
:mod:`.cadence`), solves them and writes draft :class:`RoutePlan` rows and one typed
result (:mod:`.writing`, :mod:`.results`) in one transaction. The planner tweaks
(:mod:`.edits`: reorder, move to another rep, pin, re-run with the pins), then publishes:
the field app's Today reads published plans. Pages read through :mod:`.read` and
:mod:`.timeline`; a rep re-plans the rest of a day with :mod:`.replan`. Scope lives in
:mod:`.scope`.

Services flush and never commit: the request, the job (:func:`geocrm.jobs.run_job`) or the
CLI command commits. This module keeps the names callers and stored jobs already use
(``geocrm.planning.services:plan_run_job``).
"""

from __future__ import annotations

from geocrm.clock import local_zone
from geocrm.planning.base import (
    APP_REASON_TEXT,
    CLOSED,
    DAY,
    LUNCH_SLACK_S,
    MAX_ACCOUNTS,
    MAX_DAYS,
    NO_REP_WORKING,
    NOT_COVERED,
    PALETTE,
    PLANNER_ROLES,
    ROUTING_TEXT_OVERRIDES,
    drive_text,
    hhmm,
    local_now,
    rep_key,
    to_local_seconds,
    to_utc,
    visit_key,
)
from geocrm.planning.cadence import cadence_of, plan_by_cadence
from geocrm.planning.edits import (
    Timed,
    assign_unassigned,
    move_stop,
    publish,
    reassign_stop,
    rerun,
    retime,
    simulate,
    toggle_pin,
)
from geocrm.planning.job import plan_days, plan_run_job
from geocrm.planning.problem import (
    DAY_OVER,
    DayProblem,
    Position,
    RepStart,
    build_day_problem,
    last_known_position,
    routing_rep,
    solve_params,
    starts_now,
    works_on,
)
from geocrm.planning.read import (
    PlanView,
    RunPage,
    StopView,
    plan_page_view,
    plan_view,
    planning_finished,
    reassign_options,
    rep_colours,
    run_page,
    run_plan_views,
    run_reps,
)
from geocrm.planning.replan import parse_clock, parse_position, replan_day, replan_origin
from geocrm.planning.request import (
    Pin,
    PlanRequest,
    check_rep,
    is_overdue,
    parse_plan_request,
    select_accounts,
    start_run,
)
from geocrm.planning.results import DaySummary, LeftOutVisit, PlanResult
from geocrm.planning.scope import (
    can_replan,
    covers,
    get_plan_or_404,
    get_run_or_404,
    get_stop_for_edit,
    my_plans,
    plannable_reps,
    recent_runs,
    rep_territory_ids,
    segment_choices,
    segment_lookup,
    territory_choices,
    visible_runs,
)
from geocrm.planning.timeline import Segment, Timeline, timeline

__all__ = [
    "APP_REASON_TEXT", "CLOSED", "DAY", "DAY_OVER", "LUNCH_SLACK_S", "MAX_ACCOUNTS",
    "MAX_DAYS", "NOT_COVERED", "NO_REP_WORKING", "PALETTE", "PLANNER_ROLES",
    "ROUTING_TEXT_OVERRIDES", "DayProblem", "DaySummary", "LeftOutVisit", "Pin", "PlanRequest",
    "PlanResult", "PlanView", "Position", "RepStart", "RunPage", "Segment", "StopView", "Timed",
    "Timeline", "assign_unassigned", "build_day_problem", "cadence_of", "can_replan",
    "check_rep", "covers", "drive_text", "get_plan_or_404", "get_run_or_404",
    "get_stop_for_edit", "hhmm", "is_overdue", "last_known_position", "local_now",
    "local_zone", "move_stop", "my_plans", "parse_clock", "parse_plan_request",
    "parse_position", "plan_by_cadence", "plan_days", "plan_page_view", "plan_run_job",
    "plan_view", "plannable_reps", "planning_finished", "publish", "reassign_options",
    "reassign_stop", "recent_runs", "rep_colours", "rep_key", "rep_territory_ids",
    "replan_day", "replan_origin", "rerun", "retime", "routing_rep", "run_page",
    "run_plan_views", "run_reps", "segment_choices", "segment_lookup", "select_accounts",
    "simulate", "solve_params", "start_run", "starts_now", "territory_choices", "timeline",
    "to_local_seconds", "to_utc", "toggle_pin", "visible_runs", "visit_key", "works_on",
]
