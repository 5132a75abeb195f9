"""Import forms: the upload, and a mapping form built from the file's own headers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from geocrm.imports.services import FIELDS
from geocrm.imports.sources import ENCODINGS

# Extra targets of the mapping form: x/y metres in a named grid, converted to lat/lon.
GRID_FIELDS = ("x", "y")
ENCODING_CHOICES = [SelectChoice("", "Detect automatically")] + [
    SelectChoice(code, label) for code, label in ENCODINGS.items()]


class UploadForm(FlaskForm):
    file = FileField("CSV or Excel (.xlsx) file", validators=[FileRequired()])
    source = StringField(
        "Source system", default="import",
        validators=[DataRequired(), Length(max=40), Regexp(r"^[\w .-]+$")],
    )
    encoding = SelectField("Encoding (CSV)", choices=ENCODING_CHOICES, default="",
                           validators=[Optional()])
    snapshot = BooleanField("This file is the whole source (flag accounts it no longer has)")
    submit = SubmitField("Upload")


def mapping_form(headers: list[str], guessed: dict[str, str], *, encoding: str = "",
                 crs: str = "", sheet: str = "") -> FlaskForm:
    """A form with one select per target field (and x/y), offering the file's headers.

    ``encoding`` and ``sheet`` travel with the form, so the import reads the file as the
    preview did;
    ``previewed`` carries what the last preview showed (see the mapping view).
    """
    choices = [SelectChoice("", "— not in the file —")] + [SelectChoice(h, h) for h in headers]
    labels = {"lat": "latitude (degrees)", "lon": "longitude (degrees)",
              "x": "x (grid easting, metres)", "y": "y (grid northing, metres)"}
    fields = {
        target: SelectField(labels.get(target, target.replace("_", " ")), choices=choices,
                            default=guessed.get(target, ""))
        for target in (*FIELDS, *GRID_FIELDS)
    }
    fields["crs"] = StringField("Coordinate system of x/y (EPSG code)", default=crs,
                                validators=[Optional(), Length(max=40),
                                            Regexp(r"^[\w:. -]+$", message="an EPSG code")])
    fields["encoding"] = HiddenField(default=encoding)
    fields["sheet"] = HiddenField(default=sheet)
    fields["previewed"] = HiddenField()
    fields["preview"] = SubmitField("Preview")
    fields["submit"] = SubmitField("Import")
    form_class = type("MappingForm", (FlaskForm,), fields)
    return form_class()
