"""The admin console's forms. They carry data; the services check the rules,
so the console, the command line and (later) SCIM give the same answers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from kudos.recognition.values import DESCRIPTION_MAX, EMOJI_MAX, NAME_MAX, SLUG_MAX


class ValueForm(FlaskForm):
    name = StringField("Name", render_kw={"maxlength": NAME_MAX, "required": True})
    slug = StringField(
        "Address",
        description=(
            "Used in links such as /values/responsive. Leave it empty to make one from the name."
        ),
        render_kw={
            "maxlength": SLUG_MAX,
            "pattern": "[a-z0-9]+(-[a-z0-9]+)*",
            "spellcheck": "false",
        },
    )
    emoji = StringField("Emoji", render_kw={"maxlength": EMOJI_MAX})
    description = TextAreaField(
        "Description",
        description="One sentence on the behaviour it stands for; compose shows it.",
        render_kw={"maxlength": DESCRIPTION_MAX, "rows": 3},
    )


class MoveForm(FlaskForm):
    step = IntegerField(validators=[Optional()])


class PersonForm(FlaskForm):
    """Team, department and manager: chosen from lists (the manager by e-mail,
    since a directory may have thousands of people)."""

    team = SelectField("Team", coerce=str)
    department = SelectField("Department", coerce=str)
    manager_email = StringField(
        "Manager's e-mail",
        description="Leave empty for nobody.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class GroupRenameForm(FlaskForm):
    name = StringField("New name", render_kw={"maxlength": 120, "required": True})


class GroupMergeForm(FlaskForm):
    into = SelectField("Merge into", coerce=str)


class ImportForm(FlaskForm):
    file = FileField("Directory CSV")
    deactivate_missing = BooleanField("Deactivate people who are not in the file")


class ConfirmImportForm(FlaskForm):
    """The checked file comes back with the confirmation (see ``imports``)."""

    upload = HiddenField()
    deactivate_missing = HiddenField()
