"""Account pages: parse the request, call a service, render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from geocrm.access import get_account_or_404, scope_territories
from geocrm.accounts import services
from geocrm.accounts.forms import (
    AccountForm,
    ContactForm,
    address_form_data,
    country_choices,
    part_labels,
)
from geocrm.core.accounts import (
    ADDRESS_FIELDS,
    EDITABLE,
    account_address,
    address_country,
    display_lines,
    display_one_line,
)
from geocrm.core.addresses import input_order, style
from geocrm.core.transaction import commits
from geocrm.crm import services as crm
from geocrm.crm.maps import MapPoint, build_points_map
from geocrm.errors import ValidationError
from geocrm.extensions import db
from geocrm.i18n import local_datetime
from geocrm.maps.build import render_parts
from geocrm.maps.web import configured_tiles, local_assets
from geocrm.models import Territory

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


@bp.route("/")
@login_required
def index() -> Any:
    """Accounts the user may see, filtered and paged."""
    filters = services.AccountFilters.from_args(request.args)
    page = request.args.get("page", 1, type=int) or 1
    rows, total = services.list_accounts(current_user, filters, page=page)
    territories = db.session.scalars(
        scope_territories(select(Territory), current_user).order_by(Territory.name)
    ).all()
    return render_template(
        "accounts/index.html",
        accounts=rows,
        total=total,
        page=page,
        filters=filters,
        territories=territories,
        per_page=50,
    )


@bp.route("/<int:account_id>")
@login_required
def detail(account_id: int) -> Any:
    """Account 360: details, contacts, the full timeline, tasks, deals, map and audit trail."""
    card = crm.account_360(account_id, current_user, page=request.args.get("page", 1, type=int))
    a = card.account
    points = [
        MapPoint(i.checkin_lat, i.checkin_lon,
                 _("Check-in %(time)s", time=local_datetime(i.occurred_at))
                 + (f" · {i.user.name}" if i.user else ""), "checkin")
        for i in card.timeline
        if i.checkin_lat is not None and i.checkin_lon is not None
    ]
    if a.lat is not None and a.lon is not None:
        points.append(MapPoint(a.lat, a.lon, a.name, "account"))
    fmap = (
        build_points_map(points, assets=local_assets(), tiles=configured_tiles())
        if points
        else None
    )
    return render_template(
        "accounts/detail.html",
        card=card,
        contact_form=ContactForm(),
        map_parts=render_parts(fmap) if fmap is not None else None,
        kinds=[k.value for k in crm.DESK_KINDS],
        outcomes=crm.OUTCOMES,
        campaign_outcomes=crm.CAMPAIGN_OUTCOMES,
        opp_stages=[s.value for s in crm.OpportunityStage],
        today=crm.local_today(),
    )


@bp.route("/<int:account_id>/edit", methods=["GET", "POST"])
@login_required
@commits
def edit(account_id: int) -> Any:
    """Edit an account's fields."""
    account = get_account_or_404(account_id, current_user)
    form = AccountForm(obj=account)
    form.country.choices = country_choices()
    if request.method == "GET":
        form.stage.data = account.stage.value
        form.country.data = account.country or ""
    if form.validate_on_submit():
        values = {name: form[name].data for name in EDITABLE}
        values["stage"] = form.stage.data
        try:
            services.update_account(account_id, current_user, values)
        except ValidationError as err:
            form[err.field].errors = [*form[err.field].errors, err.reason]
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("accounts.detail", account_id=account_id))
    country = address_country({k: getattr(account, k) for k in ADDRESS_FIELDS})
    return render_template(
        "accounts/edit.html", form=form, account=account,
        address_parts=input_order(form.country.data or country),
        part_labels=part_labels(style(form.country.data or country)),
        address_data={**address_form_data(), "fallback": style(country)},
    ), (
        422 if request.method == "POST" else 200
    )


@bp.route("/<int:account_id>/contacts", methods=["POST"])
@login_required
@commits
def add_contact(account_id: int) -> Any:
    """Add a contact to the account."""
    get_account_or_404(account_id, current_user)
    form = ContactForm()
    if form.validate_on_submit():
        services.add_contact(account_id, current_user, form.data)
        flash(_("Contact added."), "info")
    else:
        for field, errors in form.errors.items():
            flash(f"{form[field].label.text}: {'; '.join(errors)}", "error")
    return redirect(url_for("accounts.detail", account_id=account_id))



@bp.app_template_filter("address_lines")
def address_lines(account: Any) -> list[str]:
    """An account's address as lines in its country's order (Account 360)."""
    return display_lines(account_address(account))


@bp.app_template_filter("address_one_line")
def address_one_line(account: Any) -> str:
    """An account's whole address on one line in its country's order (the lists)."""
    return display_one_line(account_address(account))
