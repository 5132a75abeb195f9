"""Import forms: the upload, and a mapping form built from the file's own headers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from geocrm.imports.services import FIELDS


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired()])
    source = StringField(
        "Source system", default="import",
        validators=[DataRequired(), Length(max=40), Regexp(r"^[\w .-]+$")],
    )
    snapshot = BooleanField("This file is the whole source (flag accounts it no longer has)")
    submit = SubmitField("Upload")


def mapping_form(headers: list[str], guessed: dict[str, str]) -> FlaskForm:
    """A form with one select per target field, offering the file's headers."""
    choices = [SelectChoice("", "— not in the file —")] + [SelectChoice(h, h) for h in headers]
    fields = {
        target: SelectField(target.replace("_", " "), choices=choices,
                            default=guessed.get(target, ""))
        for target in FIELDS
    }
    fields["submit"] = SubmitField("Import")
    form_class = type("MappingForm", (FlaskForm,), fields)
    return form_class()
