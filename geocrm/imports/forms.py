"""Import forms: the upload, and a mapping form built from the file's own headers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from geocrm.imports.services import FIELDS
from geocrm.imports.sources import ENCODINGS
from geocrm.imports.words import encodings, word

# Extra targets of the mapping form: x/y metres in a named grid, converted to lat/lon.
GRID_FIELDS = ("x", "y")
def encoding_choices() -> list[SelectChoice]:
    """The encodings a CSV may be read in; "detect" first (its label in the reader's words)."""
    return [SelectChoice("", str(_l("Detect automatically")))] + [
        SelectChoice(code, label) for code, label in encodings(ENCODINGS).items()]


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or Excel (.xlsx) file"),
                     validators=[FileRequired(_l("Choose a file to upload."))])
    source = StringField(
        _l("Source system"), default="import",
        validators=[DataRequired(_l("Name the system the file comes from.")), Length(max=40),
                    Regexp(r"^[\w .-]+$", message=_l(
                        "Use letters, digits, spaces, dots, dashes and underscores only."))],
    )
    encoding = SelectField(_l("Encoding (CSV)"), choices=encoding_choices, default="",
                           validators=[Optional()])
    snapshot = BooleanField(_l("This file is the whole source (flag accounts it no longer has)"))
    submit = SubmitField(_l("Upload"))


def mapping_form(headers: list[str], guessed: dict[str, str], *, encoding: str = "",
                 crs: str = "", sheet: str = "") -> FlaskForm:
    """A form with one select per target field (and x/y), offering the file's headers.

    ``encoding`` and ``sheet`` travel with the form, so the import reads the file as the
    preview did;
    ``previewed`` carries what the last preview showed (see the mapping view).
    """
    choices = [SelectChoice("", str(_l("— not in the file —")))] + [
        SelectChoice(h, h) for h in headers]
    labels = {"lat": _l("latitude (degrees)"), "lon": _l("longitude (degrees)"),
              "x": _l("x (grid easting, metres)"), "y": _l("y (grid northing, metres)")}
    fields = {
        target: SelectField(labels.get(target) or word(target), choices=choices,
                            default=guessed.get(target, ""))
        for target in (*FIELDS, *GRID_FIELDS)
    }
    fields["crs"] = StringField(_l("Coordinate system of x/y (EPSG code)"), default=crs,
                                validators=[Optional(), Length(max=40),
                                            Regexp(r"^[\w:. -]+$",
                                                   message=_l("an EPSG code, e.g. EPSG:5174"))])
    fields["encoding"] = HiddenField(default=encoding)
    fields["sheet"] = HiddenField(default=sheet)
    fields["previewed"] = HiddenField()
    fields["preview"] = SubmitField(_l("Preview"))
    fields["submit"] = SubmitField(_l("Import"))
    form_class = type("MappingForm", (FlaskForm,), fields)
    return form_class()
