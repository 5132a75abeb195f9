"""Account forms (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

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

    name = StringField("Name")
    address = StringField("Address")
    city = StringField("City")
    postcode = StringField("Postcode")
    phone = StringField("Phone")
    email = EmailField("Email")
    website = StringField("Website")
    stage = SelectField("Stage", choices=[SelectChoice(s.value, s.value.title()) for s in Stage],
                        validate_choice=False)
    opening_hours = StringField("Opening hours")
    visit_minutes = StringField("Visit minutes", render_kw=_WHOLE)
    cadence_days = StringField("Visit every N days", render_kw=_WHOLE)
    priority = StringField("Priority (1 high – 5 low)", render_kw=_WHOLE)
    value = StringField("Value", render_kw=_DECIMAL)
    lat = StringField("Latitude", render_kw=_DECIMAL)
    lon = StringField("Longitude", render_kw=_DECIMAL)
    submit = SubmitField("Save")


class ContactForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    title = StringField("Title", validators=[Optional(), Length(max=120)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    submit = SubmitField("Add contact")
