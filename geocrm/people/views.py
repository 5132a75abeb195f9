"""People pages: the admin's list, invitations, a person's role and access; one's own password.

Thin: each view reads the form, calls :mod:`geocrm.people.services`, and renders.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from babel.dates import get_day_names
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import func, select
from wtforms.fields import SelectChoice

from geocrm.access import roles_required
from geocrm.auth import sessions
from geocrm.core.transaction import commits
from geocrm.errors import GeocrmError, NotFoundError, ValidationError
from geocrm.extensions import db
from geocrm.i18n import current_locale, week_start
from geocrm.maps.build import base_map, leaflet_handles, render_parts
from geocrm.maps.web import (
    NAV_APPS,
    configured_tiles,
    default_nav_app,
    local_assets,
    nav_app_names,
)
from geocrm.models import Account, Role, Territory
from geocrm.notify import outbox
from geocrm.people import services
from geocrm.people.forms import (
    ChangePasswordForm,
    InviteForm,
    PersonForm,
    ProfileForm,
    SetPasswordForm,
)

bp = Blueprint("people", __name__, url_prefix="/people")


def _territory_choices() -> list[SelectChoice]:
    return [SelectChoice(t.id, t.name)
            for t in db.session.scalars(select(Territory).order_by(Territory.name))]


def _join_url(token: str) -> str:
    return url_for("people.join", token=token, _external=True)


@bp.route("/")
@roles_required(Role.ADMIN)
def index() -> Any:
    """Everyone, pending invitations, and the invitation form."""
    form = InviteForm()
    form.territories.choices = _territory_choices()
    return render_template("people/index.html", people=services.list_people(),
                           invitations=services.pending_invitations(), form=form, link=None)


@bp.route("/invite", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def invite() -> Any:
    """Make a one-time link; the admin sees it once to pass on."""
    form = InviteForm()
    form.territories.choices = _territory_choices()
    status, link = 200, None
    if form.validate_on_submit():
        try:
            issued = services.invite(current_user, form.email.data or "", form.name.data or "",
                                     form.role.data or "rep", form.territories.data or [])
        except ValidationError as err:
            getattr(form, err.field, form.email).errors.append(err.reason)
            status = 422
        else:
            link = _join_url(issued.token)
            if services.mail_invitation(current_user, issued, link):
                flash(_("Invitation mailed to %(email)s; the link is below too.",
                        email=issued.link.email), "info")
            else:
                flash(_("Invitation for %(email)s made. Pass the link on; it works once, for "
                        "%(days)d days.", email=issued.link.email, days=services.INVITE_DAYS),
                      "info")
    else:
        status = 422
    return render_template("people/index.html", people=services.list_people(),
                           invitations=services.pending_invitations(), form=form,
                           link=link), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@commits
def person(user_id: int) -> Any:
    """A person's name, role and territories; deactivate or reset from here."""
    user = services.get_person(user_id)
    form = PersonForm(obj=None if request.method == "POST" else user)
    form.territories.choices = _territory_choices()
    if request.method == "GET":
        form.role.data = user.role.value
        form.territories.data = [t.id for t in user.territories]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.update_person(current_user, user_id, name=form.name.data or "",
                                       role=form.role.data or "",
                                       territory_ids=form.territories.data or [])
            except ValidationError as err:
                getattr(form, err.field, form.name).errors.append(err.reason)
                status = 422
            else:
                flash(_("Saved."), "info")
                return redirect(url_for("people.person", user_id=user_id), 303)
        else:
            status = 422
    return render_template("people/person.html", person=user, form=form, link=None,
                           sessions=sessions.live(user)), status


@bp.route("/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def set_active(user_id: int) -> Any:
    """Deactivate (access ends now, history stays) or reactivate."""
    active = request.form.get("active") == "1"
    try:
        user = services.set_active(current_user, user_id, active)
    except NotFoundError:
        raise  # no such person: a 404, not a redirect to a page that is one
    except GeocrmError as err:
        flash(err.message, "error")
    else:
        flash(_("%(name)s can sign in again.", name=user.name) if active else
              _("%(name)s is deactivated: signed out everywhere, API tokens revoked.",
                name=user.name), "info")
    return redirect(url_for("people.person", user_id=user_id), 303)


@bp.route("/<int:user_id>/reset", methods=["POST"])
@roles_required(Role.ADMIN)
@commits
def reset(user_id: int) -> Any:
    """A one-time password-reset link, shown once."""
    user = services.get_person(user_id)
    try:
        issued = services.reset_link(current_user, user_id)
    except GeocrmError as err:
        flash(err.message, "error")
        return redirect(url_for("people.person", user_id=user_id), 303)
    form = PersonForm(obj=user)
    form.territories.choices = _territory_choices()
    form.role.data = user.role.value
    form.territories.data = [t.id for t in user.territories]
    link = _join_url(issued.token)
    if services.mail_reset(user, link):
        flash(_("Password reset link mailed to %(email)s.", email=user.email), "info")
    else:
        flash(_("Password reset link for %(name)s made; it works once, for %(hours)d hours.",
                name=user.name, hours=services.RESET_HOURS), "info")
    return render_template("people/person.html", person=user, form=form, link=link,
                           sessions=sessions.live(user))


@bp.route("/join/<token>", methods=["GET", "POST"])
@commits
def join(token: str) -> Any:
    """Accept an invitation or a reset: choose a password, then you are signed in."""
    link = services.live_link(token)
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.use_link(token, form.password.data or "", form.confirm.data or "")
        except ValidationError as err:
            getattr(form, err.field, form.password).errors.append(err.reason)
            status = 422
        else:
            sessions.start(user, remember=False, user_agent=request.user_agent.string)
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name) if link.purpose == "invite"
                  else _("Your new password is set."), "info")
            return redirect(url_for("main.home"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("people/join.html", form=form, link=link), status


@bp.route("/me", methods=["GET", "POST"])
@login_required
@commits
def me() -> Any:
    """One's own password and signed-in browsers."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            ended = services.change_own_password(
                current_user, form.current_password.data or "", form.new_password.data or "",
                form.confirm.data or "")
        except ValidationError as err:
            getattr(form, err.field, form.new_password).errors.append(err.reason)
            status = 422
        else:
            flash(_("Password changed. Signed out on %(n)d other browsers.", n=ended), "info")
            return redirect(url_for("people.me"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("people/me.html", form=form, sessions=sessions.live(current_user),
                           choices=outbox.choices(current_user), kinds=outbox.KINDS,
                           channels=outbox.CHANNELS, nav_names=nav_app_names(),
                           nav_chosen=current_user.nav_app,
                           nav_default=default_nav_app(current_locale())), status


@bp.route("/me/nav-app", methods=["POST"])
@login_required
@commits
def nav_app() -> Any:
    """The navigation app one's route links open first (a form, or JSON from the apps)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    chosen = (data or {}).get("nav_app") or ""
    if chosen and chosen not in NAV_APPS:
        raise ValidationError("nav_app", _("must be one of %(apps)s", apps=", ".join(NAV_APPS)))
    current_user.nav_app = chosen or None
    if request.is_json:
        return {"nav_app": current_user.nav_app}
    flash(_("Saved."), "info")
    return redirect(url_for("people.me"), 303)


@bp.route("/me/notifications", methods=["POST"])
@login_required
@commits
def notifications() -> Any:
    """What one wants to be told, and how (mail, the phone)."""
    outbox.set_choices(current_user, {kind: request.form.getlist(kind) for kind in outbox.KINDS})
    flash(_("Saved."), "info")
    return redirect(url_for("people.me"), 303)


@bp.route("/me/sign-out-others", methods=["POST"])
@login_required
@commits
def sign_out_others() -> Any:
    """End every other session of one's own (a lost phone, a shared computer)."""
    ended = sessions.end_all(current_user, keep_current=True)
    flash(_("Signed out on %(n)d other browsers.", n=ended), "info")
    return redirect(url_for("people.me"), 303)


# -- a rep's planning profile ---------------------------------------------------------------
PLANNING_ROLES = (Role.ADMIN, Role.MANAGER, Role.PLANNER)


def _weekday_choices() -> list[SelectChoice]:
    """Monday..Sunday in the reader's language, starting on the locale's first weekday."""
    names = get_day_names("wide", locale=get_locale() or "en")  # 0 = Monday
    first = week_start()
    return [SelectChoice((d % 7) + 1, names[d % 7]) for d in range(first, first + 7)]


def _hhmm(minutes: int | None) -> time | None:
    return None if minutes is None else time(minutes // 60, minutes % 60)


def _minutes(value: time | None) -> int | None:
    return None if value is None else value.hour * 60 + value.minute


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return float("nan")  # refused by the service, naming the field


def _profile_map(user: Any) -> tuple[Any, dict[str, Any]]:
    home = (user.home_lat, user.home_lon) if user.home_lat is not None else None
    assets = local_assets()
    fmap = base_map(assets.leaflet_js, assets.leaflet_css, configured_tiles())
    centre = home or _default_centre()
    fmap.location = list(centre)
    fmap.options["zoom"] = 15 if home else 11
    return fmap, {"leaflet": leaflet_handles(fmap),
                  "home": list(home) if home else None}


def _default_centre() -> tuple[float, float]:
    """Where to open the map of a rep without a home: the middle of the accounts' pins."""
    row = db.session.execute(select(func.avg(Account.lat), func.avg(Account.lon))
                             .where(Account.lat.is_not(None))).one()
    return (float(row[0]), float(row[1])) if row[0] is not None else (60.17, 24.94)


@bp.route("/<int:user_id>/profile", methods=["GET", "POST"])
@roles_required(*PLANNING_ROLES)
@commits
def profile(user_id: int) -> Any:
    """A rep's home base (pin on the map, or the address geocoded), work days and hours, lunch,
    daily visit cap, skills and vehicle: what the planner plans with."""
    user = services.get_profile_person(current_user, user_id)
    form = ProfileForm()
    form.work_days.choices = _weekday_choices()
    status = 200
    if request.method == "GET":
        p = services.profile_of(user)
        form.home_address.data = p.home_address
        form.home_lat.data = "" if p.home_lat is None else repr(p.home_lat)
        form.home_lon.data = "" if p.home_lon is None else repr(p.home_lon)
        form.work_days.data = list(p.work_days)
        form.work_start.data = _hhmm(p.work_start_min)
        form.work_end.data = _hhmm(p.work_end_min)
        form.lunch_start.data = _hhmm(p.lunch_start_min)
        form.lunch_minutes.data = p.lunch_minutes
        form.max_visits.data = p.max_visits_per_day
        form.skills.data = p.skills
        form.vehicle.data = p.vehicle
        form.speed_kmh.data = p.speed_kmh
    elif form.validate_on_submit():
        try:
            services.update_profile(current_user, user_id, services.Profile(
                home_address=form.home_address.data,
                home_lat=_float(form.home_lat.data), home_lon=_float(form.home_lon.data),
                work_days=tuple(form.work_days.data or ()),
                work_start_min=_minutes(form.work_start.data) or 0,
                work_end_min=_minutes(form.work_end.data) or 0,
                lunch_start_min=_minutes(form.lunch_start.data),
                lunch_minutes=form.lunch_minutes.data or 0,
                max_visits_per_day=form.max_visits.data, skills=form.skills.data,
                vehicle=form.vehicle.data or "car",
                speed_kmh=None if form.speed_kmh.data is None else float(form.speed_kmh.data)))
        except ValidationError as err:
            target = {"home": form.home_address, "lunch_start": form.lunch_start,
                      "max_visits": form.max_visits}.get(err.field)
            getattr(form, err.field, target or form.home_address).errors.append(err.reason)
            status = 422
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("people.profile", user_id=user_id), 303)
    else:
        status = 422
    fmap, data = _profile_map(user)
    return render_template("people/profile.html", person=user, form=form,
                           parts=render_parts(fmap), page=data), status
