"""The preferences form, shared by onboarding and settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField

from kudos.preferences.models import BEST_WAY_MAX_LENGTH

AUDIENCE_CHOICES = [
    ("public", "Everyone", "Praise for me can show up in the company feed."),
    ("team", "My team", "Just my teammates, my manager and whoever sent it."),
    ("private", "Just me and my manager", "Keep it between us (and whoever sent it)."),
]
STYLE_CHOICES = [
    ("low_key", "A quiet pat on the back", "A simple note when I'm thanked. No fuss."),
    ("celebratory", "Air horns and balloons", "Confetti, balloons, the works. I love a party."),
]
# Whether to be named in the company Slack channel's post of a public kudos.
SLACK_CHANNEL_CHOICES = [
    ("yes", "Name me in the channel post", "Everyone in the channel sees I was thanked."),
    (
        "no",
        "Leave me out of the post and tell me privately",
        "I'd rather hear it in a direct message from Kudos.",
    ),
]


def yes_or_no(value: object) -> object:
    """``yes``/``no`` from the page as a bool (a stored answer already is one);
    anything else is kept as sent, for the service to refuse beside the field."""
    if isinstance(value, str):
        return {"yes": True, "no": False}.get(value, value)
    return value


class PreferencesForm(FlaskForm):
    # Audience and style are rendered as radio cards by the template; the
    # service checks their values, so the page and the API agree.
    audience = StringField(default="public")
    style = StringField(default="low_key")
    email_opt_in = BooleanField("E-mail me when I'm thanked")
    # The two Slack questions are shown, and read, only when Slack is on.
    slack_opt_in = BooleanField("Send me a Slack message when I'm thanked")
    # Rendered as radio cards too: "yes" (name me) or "no" (a direct message).
    in_slack_channel = StringField(
        "When a public kudos for you is announced in Slack, should we name you?",
        default=True,
        filters=[yes_or_no],
    )
    on_leaderboards = BooleanField("Show me on the monthly leaderboards", default=True)
    best_way_to_thank = StringField(
        "The best way to thank me is…",
        render_kw={
            "maxlength": BEST_WAY_MAX_LENGTH,
            "placeholder": "e.g. a coffee chat, a note to my manager, cake",
        },
    )
    next = HiddenField()
