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


class PreferencesForm(FlaskForm):
    # Audience and style are rendered as radio cards by the template; the
    # service checks their values, so the page and the API agree.
    audience = StringField(default="public")
    style = StringField(default="low_key")
    email_opt_in = BooleanField("E-mail me when I'm thanked")
    on_leaderboards = BooleanField("Show me on the monthly leaderboards", default=True)
    best_way_to_thank = StringField(
        "The best way to thank me is…",
        render_kw={
            "maxlength": BEST_WAY_MAX_LENGTH,
            "placeholder": "e.g. a coffee chat, a note to my manager, cake",
        },
    )
    next = HiddenField()
