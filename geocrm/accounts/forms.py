"""Account forms (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    EmailField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from geocrm.models import Stage


class AccountForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    address = StringField("Address", validators=[Optional(), Length(max=300)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    postcode = StringField("Postcode", validators=[Optional(), Length(max=20)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    website = StringField("Website", validators=[Optional(), Length(max=300)])
    stage = SelectField("Stage", choices=[SelectChoice(s.value, s.value.title()) for s in Stage])
    opening_hours = StringField("Opening hours", validators=[Optional(), Length(max=300)])
    visit_minutes = IntegerField("Visit minutes", validators=[Optional(), NumberRange(1, 600)])
    cadence_days = IntegerField("Visit every N days", validators=[Optional(), NumberRange(1, 730)])
    priority = IntegerField("Priority (1 high – 5 low)", validators=[Optional(), NumberRange(1, 5)])
    value = DecimalField("Value", validators=[Optional()])
    lat = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    lon = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])
    submit = SubmitField("Save")


class ContactForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    title = StringField("Title", validators=[Optional(), Length(max=120)])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    submit = SubmitField("Add contact")
