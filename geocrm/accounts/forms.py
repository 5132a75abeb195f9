"""Account forms (Flask-WTF: CSRF on every POST)."""

from __future__ import annotations

from flask_babel import get_locale
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

from geocrm.core.addresses import INPUT_ORDER, PARTS, STYLES, Style, country_names
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
    name_reading = StringField(_l("Reading (furigana)"), render_kw={"lang": "ja"})
    address = StringField(_l("Address"), render_kw={"autocomplete": "street-address"})
    country = SelectField(_l("Country"), choices=[], validate_choice=False)
    # The parts, shown in the country's order (address_parts); labels per convention.
    postcode = StringField(_l("Postcode"), render_kw={"autocomplete": "postal-code"})
    region = StringField(_l("Region"), render_kw={"autocomplete": "address-level1"})
    city = StringField(_l("City"), render_kw={"autocomplete": "address-level2"})
    district = StringField(_l("District"), render_kw={"autocomplete": "address-level3"})
    street = StringField(_l("Street"), render_kw={"autocomplete": "address-line1"})
    housenumber = StringField(_l("Number"))
    building = StringField(_l("Building"), render_kw={"autocomplete": "address-line2"})
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
    required_skills = StringField(_l("Skills a visit needs (comma-separated)"),
                                  render_kw={"placeholder": _l("e.g. forklift, Japanese")})
    value = StringField(_l("Value"), render_kw=_DECIMAL)
    lat = StringField(_l("Latitude"), render_kw=_DECIMAL)
    lon = StringField(_l("Longitude"), render_kw=_DECIMAL)
    submit = SubmitField(_l("Save"))


#: Each part's label in each convention: a Korean 시·군·구 is not a Japanese 市区町村.
PART_LABELS: dict[str, dict[str, object]] = {
    "KR": {
        "postcode": _l("Postcode"),
        "region": _l("Province or metropolitan city (si/do)"),
        "city": _l("City, county or borough (si/gun/gu)"),
        "district": _l("Town or neighbourhood (eup/myeon/dong)"),
        "street": _l("Road name"),
        "housenumber": _l("Building number (or lot number)"),
        "building": _l("Details: building, floor, unit"),
    },
    "JP": {
        "postcode": _l("Postcode (〒)"),
        "region": _l("Prefecture"),
        "city": _l("City, ward, town or village"),
        "district": _l("Town or area (chō, ōaza)"),
        "street": _l("Street (rarely used in Japan)"),
        "housenumber": _l("Block number (chōme-ban-gō)"),
        "building": _l("Building and room"),
    },
    "default": {
        "postcode": _l("Postcode"),
        "region": _l("State, province or region"),
        "city": _l("City"),
        "district": _l("District or suburb"),
        "street": _l("Street"),
        "housenumber": _l("House number"),
        "building": _l("Building, floor, unit"),
    },
}


def part_labels(st: Style) -> dict[str, str]:
    """The parts' labels (translated) for an address convention."""
    labels = PART_LABELS.get(st, PART_LABELS["default"])
    return {part: str(labels[part]) for part in PARTS}


def address_form_data() -> dict[str, object]:
    """What the form's module needs to reorder and relabel the parts when the country
    changes: the order and labels of every convention, and which countries use which."""
    return {
        "orders": {st: list(order) for st, order in INPUT_ORDER.items()},
        "labels": {st: part_labels(st) for st in INPUT_ORDER},  # type: ignore[arg-type]
        "styles": dict(STYLES),
    }


def country_choices() -> list[tuple[str, str]]:
    """Every country by its name in the page's language, alphabetically; first the choice
    to leave it open (the address's script or the company's country decides)."""
    names = country_names(str(get_locale() or "en"))
    return [("", str(_l("— not set —"))),
            *sorted(names.items(), key=lambda kv: kv[1])]


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254)])
    submit = SubmitField(_l("Add contact"))
