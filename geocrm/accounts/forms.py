"""Account forms (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from geocrm.i18n import LABELS
from geocrm.models import Stage

# Text inputs that still bring up a number pad on a phone.
_WHOLE = {"inputmode": "numeric"}
_DECIMAL = {"inputmode": "decimal"}


class AccountForm(FlaskForm):
    """The edit form: plain text in, the account rules (:mod:`geocrm.core.accounts`) judge.

    No WTForms validators here: the form, the API and the import must give the same input
    the same verdict and message, so the service's :class:`ValidationError` is what the
    page shows under the field.
    """

    name = StringField(_l("Name"))
    address = StringField(_l("Address"))
    city = StringField(_l("City"))
    postcode = StringField(_l("Postcode"))
    phone = StringField(_l("Phone"))
    email = EmailField(_l("Email"))
    website = StringField(_l("Website"))
    stage = SelectField(_l("Stage"),
                        choices=[SelectChoice(s.value, LABELS[s.value]) for s in Stage],
                        validate_choice=False)
    opening_hours = StringField(_l("Opening hours"))
    visit_minutes = StringField(_l("Visit minutes"), render_kw=_WHOLE)
    cadence_days = StringField(_l("Visit every N days"), render_kw=_WHOLE)
    priority = StringField(_l("Priority (1 high – 5 low)"), render_kw=_WHOLE)
    value = StringField(_l("Value"), render_kw=_DECIMAL)
    lat = StringField(_l("Latitude"), render_kw=_DECIMAL)
    lon = StringField(_l("Longitude"), render_kw=_DECIMAL)
    submit = SubmitField(_l("Save"))


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    submit = SubmitField(_l("Add contact"))
