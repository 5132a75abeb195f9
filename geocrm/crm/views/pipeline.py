"""The pipeline: a board with a column per stage, and a table with totals."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from geocrm.access import roles_required, scope_territories
from geocrm.crm import reports, services
from geocrm.crm.charts import bar_chart
from geocrm.crm.views.blueprint import EVERYONE, bp
from geocrm.extensions import db
from geocrm.i18n import currency_symbol, label
from geocrm.models import Account, Opportunity, Territory


@bp.route("/pipeline")
@roles_required(*EVERYONE)
def pipeline() -> Any:
    """The pipeline as a board (a column per stage) and a table with totals."""
    territory = request.args.get("territory", type=int)
    stmt = services.visible_opportunities(current_user)
    if territory:
        stmt = stmt.where(Opportunity.account_id.in_(
            select(Account.id).where(Account.territory_id == territory)
        ))
    opps = list(db.session.scalars(
        stmt.options(selectinload(Opportunity.account))
        .order_by(Opportunity.expected_close.is_(None), Opportunity.expected_close,
                  Opportunity.id).limit(2000)
    ))
    board: dict[str, list[Any]] = {s: [] for s in reports.STAGES}
    for o in opps:
        board[o.stage.value].append(o)
    report = reports.pipeline_by_territory(current_user)
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user)
        .order_by(Territory.name)
    ).all()
    by_stage = _stage_totals(report)
    return render_template(
        "crm/pipeline.html", board=board, report=report, by_stage=by_stage,
        column_names=reports.COLUMNS,
        stages=reports.STAGES, territories=territories, territory=territory,
        chart=bar_chart([(label(s), float(by_stage[s][1])) for s in reports.STAGES],
                        title=_("Amount by stage"), unit=currency_symbol()),
    )


def _stage_totals(report: reports.Report) -> dict[str, tuple[int, Any]]:
    totals = report.totals or []
    out = {}
    for i, s in enumerate(reports.STAGES):
        out[s] = (totals[2 + 2 * i], totals[3 + 2 * i]) if totals else (0, 0)
    return out
