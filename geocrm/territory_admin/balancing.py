"""The balance wizard: choose area, reps and units; preview before/after; apply; undo.

The proposal comes from :func:`territories.balance` (routed-workload estimate, contiguous
and compact territories built from grid cells or imported units). It is stored as a
:class:`BalanceProposal` so the manager applies exactly what they previewed. Apply is one
:class:`geocrm.territory_admin.services.Change`: each rep's territory is reshaped (the
territory the rep already works, when there is one) or created, the replaced territories
no rep keeps are deleted, the accounts are re-assigned, and the revision makes it undoable.

The request, the before/after numbers and the stored proposal live in
:mod:`~geocrm.territory_admin.proposals`; a rebalance (moving the fewest units between today's
territories) in :mod:`~geocrm.territory_admin.rebalancing`.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from flask_babel import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

import territories as terr
from geocrm.access import scope_accounts
from geocrm.colours import safe_colour
from geocrm.errors import ConflictError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.models import Account, Role, Territory, User
from geocrm.models.territory_admin import BalanceProposal, TerritoryRevision
from geocrm.region.travel import workload_model
from geocrm.spatial import SpatialRepository
from geocrm.territory_admin import notes as tn
from geocrm.territory_admin import services as svc
from geocrm.territory_admin.proposals import (
    MAX_UNITS,
    MODES,
    UNIT_KINDS,
    BalanceRequest,
    before_table,
    fingerprint,
    moved_accounts,
    rounded,
    store_proposal,
    workload_ratio,
)
from geocrm.territory_admin.rebalancing import preview_rebalance
from geocrm.territory_admin.transfer import read_file

__all__ = ["BalanceRequest", "apply_balance", "get_proposal_or_404", "preview_balance"]


def _area(request: BalanceRequest, user: User) -> tuple[BaseGeometry, list[Territory]]:
    """The service area and the user's territories the proposal replaces."""
    mine = svc.visible_territories(user)
    if request.area_path is not None:
        read = read_file(request.area_path, label="area file")
        area = shapely.make_valid(shapely.union_all(read.frame.geometry.values))
        replaced = [t for t in mine
                    if svc.area_m2(shapely.intersection(t.geom, area)) >= svc.MIN_AREA_M2]
        return area, replaced
    chosen = set(request.territory_ids)
    replaced = [t for t in mine if not chosen or t.id in chosen]
    if chosen - {t.id for t in replaced}:
        raise ValidationError("territories", _("choose among your own territories"))
    if not replaced:
        raise ValidationError("area", _("no territories to balance: draw or import some first"))
    return shapely.make_valid(shapely.union_all([t.geom for t in replaced])), replaced


def _reps(rep_ids: tuple[int, ...]) -> list[User]:
    if not rep_ids:
        raise ValidationError("reps", _("choose at least one rep"))
    found = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(rep_ids)))}
    reps = []
    for rid in rep_ids:
        u = found.get(rid)
        if u is None or u.role != Role.REP or not u.active:
            raise ValidationError("reps", _("user %(id)s is not an active rep", id=rid))
        if u.home_lat is None or u.home_lon is None:
            raise ValidationError("reps", _(
                "%(name)s has no home location: set it first", name=u.name))
        reps.append(u)
    return reps


def _units(request: BalanceRequest, area: BaseGeometry) -> gpd.GeoDataFrame | None:
    if request.units not in UNIT_KINDS:
        raise ValidationError("units", _("hex, square or upload"))
    if request.units != "upload":
        return None
    if request.units_path is None:
        raise ValidationError("units", _("upload a units file (postal areas, municipalities)"))
    frame = read_file(request.units_path, label="units file").frame
    clipped = shapely.intersection(frame.geometry.values, area)
    keep = [g for g in (terr.io.polygonal(shapely.make_valid(c)) for c in clipped)
            if g is not None]
    if not keep:
        raise ValidationError("units", _("no unit overlaps the service area"))
    if len(keep) > MAX_UNITS:
        raise ValidationError("units", _(
            "%(num)s units; at most %(most)s", num=len(keep), most=MAX_UNITS))
    return gpd.GeoDataFrame(geometry=keep, crs="EPSG:4326")


def preview_balance(user: User, request: BalanceRequest) -> BalanceProposal:
    """Compute a balance and store it for preview; the territories are not touched."""
    if not svc.can_edit(user):
        raise NotFoundError(_("No such page."))
    if not 1.0 < request.target <= 3.0:
        raise ValidationError("target", _("a max/min workload ratio between 1.01 and 3"))
    if request.cell_km is not None and not 0.05 <= request.cell_km <= 100:
        raise ValidationError("cell_km", _("a cell width between 0.05 and 100 km"))
    if request.mode not in MODES:
        raise ValidationError("mode", _("rebalance or scratch"))
    if request.mode == "rebalance" and request.area_path is not None:
        raise ValidationError("area", _("a rebalance starts from your territories, not a file"))
    area, replaced = _area(request, user)
    reps = _homes_of(replaced) if request.mode == "rebalance" else _reps(request.rep_ids)
    units = _units(request, area)
    base = scope_accounts(select(Account), user).where(Account.archived.is_(False))
    inside = SpatialRepository(db.session).account_ids_within(area, base=base)
    accounts = svc.accounts_frame(select(Account).where(Account.id.in_(inside))) if inside \
        else svc.accounts_frame(select(Account).where(Account.id < 0))
    homes = gpd.GeoSeries([shapely.Point(u.home_lon, u.home_lat) for u in reps],
                          crs="EPSG:4326")
    if units is None:
        metric_area = svc.area_m2(area)
        cell = request.cell_km * 1000 if request.cell_km else None
        cells = metric_area / (cell**2 if cell else metric_area / (50 * len(reps)))
        if cells > MAX_UNITS * 1.5:
            raise ValidationError("cell_km", _(
                "about %(cells)s cells; choose wider cells", cells=format(cells, '.0f')))
    if request.mode == "rebalance":
        return preview_rebalance(user, request, area, replaced, reps, units, accounts, homes)
    try:
        result = terr.balance(area, accounts, homes, units=units,
                              cell=request.cell_km * 1000 if request.cell_km else None,
                              shape="square" if request.units == "square" else "hex",
                              target=request.target, model=workload_model())
    except terr.TerritoryError as exc:
        raise ValidationError("reps", str(exc)) from exc

    before_rows = before_table(replaced, accounts)

    # After: one territory per rep, matched to the territory the rep works today.
    proposed = result.territories
    reused: set[int] = set()
    proposal = []
    taken = {t.name for t in replaced}
    for r, rep in enumerate(reps):
        if r not in proposed.index:
            raise ValidationError("reps", _(
                "no territory could be made for %(name)s", name=rep.name))
        row = proposed.loc[r]
        target = next((t for t in sorted(replaced, key=lambda t: t.id)
                       if t.id not in reused and rep in t.reps), None)
        if target is not None:
            reused.add(target.id)
        name = target.name if target else _fresh_name(f"{rep.name} territory", taken)
        taken.add(name)
        geom, _notes = svc.check_polygon(row.geometry, field_name="proposal")
        proposal.append({
            "rep_id": rep.id, "rep_name": rep.name, "territory_id": target.id if target else None,
            "name": name, "geometry": mapping(geom),
            "workload_hours": rounded(row["workload_hours"]), "accounts": int(row["accounts"]),
            "compactness": rounded(row["compactness"]),
        })

    moved, newly = moved_accounts(accounts, replaced, proposal)
    stats = {
        "before": before_rows,
        "before_max_min": rounded(workload_ratio([b["workload_hours"] or 0 for b in before_rows]))
        if before_rows else None,
        "after_max_min": rounded(result.max_min),
        "contiguous": bool(result.contiguous),
        "moved_accounts": moved,
        "newly_assigned": newly,
        "accounts": len(accounts),
        "units": len(result.units),
        "deleted": [{"id": t.id, "name": t.name} for t in replaced if t.id not in reused],
    }
    return store_proposal(user, request, replaced, proposal, stats)


def _homes_of(replaced: list[Territory]) -> list[User]:
    """Per territory the rep whose home anchors its travel estimate (first rep with a home)."""
    reps = []
    for t in replaced:
        rep = next((u for u in sorted(t.reps, key=lambda u: u.id)
                    if u.home_lat is not None and u.home_lon is not None), None)
        if rep is None:
            raise ValidationError(
                "territories", _(
                    "%(name)s has no rep with a home location: assign one first", name=t.name))
        reps.append(rep)
    return reps


def _fresh_name(base: str, taken: set[str]) -> str:
    name, n = base[:110], 2
    exists = set(db.session.scalars(select(Territory.name).where(
        Territory.name.like(f"{name}%"))))
    while name in taken or name in exists:
        name = f"{base[:110]} {n}"
        n += 1
    return name


def get_proposal_or_404(proposal_id: int, user: User) -> BalanceProposal:
    """A proposal of this user's; others' answer 404."""
    found = db.session.get(BalanceProposal, proposal_id)
    if found is None or not svc.can_edit(user) or found.created_by_id != user.id:
        raise NotFoundError(_("No proposal %(id)s.", id=proposal_id))
    return found


def apply_balance(user: User, proposal_id: int) -> TerritoryRevision:
    """Reshape/create one territory per rep, delete the rest, re-assign: one transaction.

    Flushes; the view or the background job's runner commits.
    """
    proposal = get_proposal_or_404(proposal_id, user)
    if proposal.status != "preview":
        raise ConflictError(_("This proposal was already applied."))
    replaced = [svc.get_editable_or_404(i, user) for i in proposal.replaces
                if db.session.get(Territory, i) is not None]
    if (len(replaced) != len(proposal.replaces)
            or fingerprint(replaced) != proposal.params.get("fingerprint")):
        raise ConflictError(_("The territories changed since this preview: preview again."))
    by_id = {t.id: t for t in replaced}
    reps = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_([p["rep_id"] for p in proposal.proposal])))}
    change = svc.Change("balance", user)
    count = db.session.scalar(select(func.count(Territory.id))) or 0
    kept = set()
    for i, p in enumerate(proposal.proposal):
        geom = shape(p["geometry"])
        rep = reps.get(p["rep_id"])
        if rep is None:
            raise ConflictError(_("A rep of this proposal no longer exists: preview again."))
        if p["territory_id"] is not None and p["territory_id"] in by_id:
            t = change.touch(by_id[p["territory_id"]])
            t.set_geometry(geom)
            kept.add(t.id)
        else:
            manager = user.id if user.role == Role.MANAGER else (
                replaced[0].manager_id if replaced else None)
            t = change.create(name=svc.check_name(p["name"]), color=safe_colour(
                None, count + i), priority=0, manager_id=manager, geom=geom)
        if not p.get("keep_reps"):
            t.reps = [rep]
    for t in replaced:
        if t.id not in kept:
            change.delete(t)
    ratio = proposal.stats.get("after_max_min")
    verb = "rebalanced" if proposal.params.get("mode") == "rebalance" else "balanced"
    revision = change.record(tn.note(verb, num=len(proposal.proposal), ratio=ratio))
    proposal.status = "applied"
    proposal.revision_id = revision.id
    db.session.flush()
    return revision
