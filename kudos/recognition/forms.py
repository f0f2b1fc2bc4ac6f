"""Forms for sending kudos, moderating them and reacting."""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from kudos.recognition.reports import MAX_REPORT_REASON_LENGTH
from kudos.recognition.services import MAX_HIDE_REASON_LENGTH, MAX_MESSAGE_LENGTH

VISIBILITY_CHOICES = [
    ("public", "Everyone", "Anyone at the company can see it in the feed."),
    ("team", "Their team", "You, them, their teammates and their managers."),
    ("private", "Just them", "Only you, them and their managers."),
]


class ComposeForm(FlaskForm):
    """The compose page. Rules are checked by the send service, not here, so
    the page and the API give the same answers; the form only carries data.
    The chosen recipients and values are lists of ids read by the view."""

    q = StringField("Find people by name or e-mail", render_kw={"autocomplete": "off"})
    message = TextAreaField(
        "What did they do?",
        render_kw={"rows": 5, "maxlength": MAX_MESSAGE_LENGTH},
    )
    # Rendered as radio buttons by the template (from VISIBILITY_CHOICES).
    visibility = StringField("Who can see it?", default="public")
    # One key per rendered form: pressing "Send" twice creates one kudos.
    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)


class HideForm(FlaskForm):
    reason = StringField(
        "Why hide it?",
        validators=[
            DataRequired("Say why it is hidden; the sender may ask."),
            Length(max=MAX_HIDE_REASON_LENGTH),
        ],
    )


class ReportForm(FlaskForm):
    """The rules are checked by ``reports.report_kudos``; the form carries the text."""

    reason = TextAreaField(
        "What is wrong with it?",
        render_kw={"rows": 3, "maxlength": MAX_REPORT_REASON_LENGTH},
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (react, delete, restore)."""
