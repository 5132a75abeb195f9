"""Forms of the people pages (Flask-WTF: CSRF-protected)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from geocrm.core.skills import VEHICLE_KMH, VEHICLE_LABELS

_ROLES = (("rep", _l("Field rep")), ("manager", _l("Territory manager")),
          ("planner", _l("Planner")), ("admin", _l("Admin")))


def vehicle_choices() -> list[SelectChoice]:
    """Car, bike, on foot, in the reader's language, with the speed the planner uses."""
    return [SelectChoice(v, f"{VEHICLE_LABELS[v]} ({kmh:g} km/h)")
            for v, kmh in VEHICLE_KMH.items()]


def role_choices() -> list[SelectChoice]:
    """The roles, labelled in the reader's language (called when a form is built)."""
    return [SelectChoice(value, str(label)) for value, label in _ROLES]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices, default="rep")
    territories = SelectMultipleField(_l("Territories"), coerce=int, choices=[])


class PersonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices)
    territories = SelectMultipleField(_l("Territories"), coerce=int, choices=[])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), Length(max=256)])


class ProfileForm(FlaskForm):
    """A rep's planning profile; the home pin arrives in hidden fields set by the map."""

    home_address = StringField(_l("Home base address"), validators=[Optional(), Length(max=300)])
    home_lat = HiddenField()
    home_lon = HiddenField()
    work_days = SelectMultipleField(_l("Work days"), coerce=int, choices=[],
                                    widget=ListWidget(prefix_label=False),
                                    option_widget=CheckboxInput())
    work_start = TimeField(_l("Day starts"), validators=[DataRequired()])
    work_end = TimeField(_l("Day ends"), validators=[DataRequired()])
    lunch_start = TimeField(_l("Lunch from"), validators=[Optional()])
    lunch_minutes = IntegerField(_l("Lunch (minutes)"), validators=[Optional()], default=30)
    max_visits = IntegerField(_l("Most visits a day"), validators=[Optional()])
    skills = StringField(_l("Skills (comma-separated)"), validators=[Optional(), Length(max=300)],
                         render_kw={"placeholder": _l("e.g. forklift, Korean, Japanese")})
    vehicle = SelectField(_l("Travels by"), choices=vehicle_choices, default="car")
    speed_kmh = DecimalField(_l("Own speed (km/h, optional)"), places=None,
                             validators=[Optional()])
