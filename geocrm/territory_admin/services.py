"""Territory management rules: scope, validation, every change with its revision and moves.

Every change goes through a :class:`Change`: it snapshots the territories it touches
before they change, and on :meth:`Change.record` re-assigns the accounts of the affected
area with :func:`geocrm.spatial.assign_points` (the same overlap rule as
:func:`territories.assign`), records who owned what when in ``AssignmentHistory`` and
writes a :class:`TerritoryRevision`, all in one transaction. Undo replays a revision's
snapshot and re-assigns again, so an undone change leaves no trace in the accounts.

The web views, the JSON endpoints of the map editor, the import and the balance wizard
all call these functions; none of them builds a query of its own.

The rules live in one module per part: :mod:`~geocrm.territory_admin.scope` (who sees and
edits what), :mod:`~geocrm.territory_admin.geometry` (checking shapes and names),
:mod:`~geocrm.territory_admin.revisions` (changes, revisions, undo),
:mod:`~geocrm.territory_admin.edits` (the editor's operations) and
:mod:`~geocrm.territory_admin.frames` (what the map shows). This module is the one name
the views, the wizard, the import and the tests use for them.
"""

from __future__ import annotations

from geocrm.territory_admin.edits import (
    create_territory,
    delete_territory,
    manager_for,
    set_reps,
    split_territory,
    update_geometry,
    update_properties,
)
from geocrm.territory_admin.frames import (
    accounts_frame,
    accounts_inside,
    editor_data,
    history_of,
    rep_homes,
    service_area,
    territory_frame,
    unassigned_points,
)
from geocrm.territory_admin.geometry import MIN_AREA_M2, check_name, check_polygon, parse_geojson
from geocrm.territory_admin.revisions import (
    Change,
    id_runs,
    relink_history,
    revisions_for,
    snapshot,
    undo,
)
from geocrm.territory_admin.scope import (
    EDIT_ROLES,
    VIEW_ROLES,
    can_edit,
    get_editable_or_404,
    get_territory_or_404,
    manager_choices,
    rep_choices,
    visible_territories,
)
from territories.geodesy import area_m2

__all__ = [
    "Change",
    "EDIT_ROLES",
    "MIN_AREA_M2",
    "VIEW_ROLES",
    "accounts_frame",
    "accounts_inside",
    "area_m2",
    "can_edit",
    "check_name",
    "check_polygon",
    "create_territory",
    "delete_territory",
    "editor_data",
    "get_editable_or_404",
    "get_territory_or_404",
    "history_of",
    "id_runs",
    "manager_choices",
    "manager_for",
    "parse_geojson",
    "relink_history",
    "rep_choices",
    "rep_homes",
    "revisions_for",
    "service_area",
    "set_reps",
    "snapshot",
    "split_territory",
    "territory_frame",
    "unassigned_points",
    "undo",
    "update_geometry",
    "update_properties",
    "visible_territories",
]
