"""Onboarding (first sign-in) and the recognition settings page."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from kudos.auth.redirects import is_local_path
from kudos.db import utcnow
from kudos.extensions import db
from kudos.preferences.forms import (
    AUDIENCE_CHOICES,
    SLACK_CHANNEL_CHOICES,
    STYLE_CHOICES,
    PreferencesForm,
)
from kudos.preferences.services import (
    PreferenceChoices,
    PreferencesRejected,
    needs_onboarding,
    postpone_onboarding,
    save_preferences,
    stored_slack_choices,
)
from kudos.recognition.models import Value

bp = Blueprint("preferences", __name__)

# Pages a person may reach before finishing onboarding.
ONBOARDING_EXEMPT_BLUEPRINTS = {
    "preferences",
    "auth",
    "demo",
    "health",
    "api",
    "api_docs",
    "tokens",
}


def _favourite_ids() -> list[int]:
    return [
        int(item) for item in request.form.getlist("favourite_values") if item.strip().isdigit()
    ][:20]


def _render(
    template: str,
    form: PreferencesForm,
    favourite_ids: list[int],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    values = db.session.scalars(select(Value).where(Value.active).order_by(Value.position))
    return render_template(
        template,
        form=form,
        values=list(values),
        favourite_ids=set(favourite_ids),
        errors=errors or {},
        audience_choices=AUDIENCE_CHOICES,
        style_choices=STYLE_CHOICES,
        email_enabled=bool(current_app.config.get("SMTP_URL")),
        slack_enabled=_slack_enabled(),
        slack_channel_choices=SLACK_CHANNEL_CHOICES,
    ), status


def _slack_enabled() -> bool:
    return bool(current_app.config.get("SLACK_ENABLED"))


def _prefilled_form() -> tuple[PreferencesForm, list[int]]:
    preference = current_user.preference
    if preference is None:
        return PreferencesForm(), []
    form = PreferencesForm(obj=preference)
    return form, [value.id for value in preference.favourite_values]


def _save(form: PreferencesForm) -> None:
    save_preferences(
        db.session,
        current_user,
        PreferenceChoices(
            audience=form.audience.data or "",
            style=form.style.data or "",
            email_opt_in=bool(form.email_opt_in.data),
            on_leaderboards=bool(form.on_leaderboards.data),
            favourite_value_ids=_favourite_ids(),
            best_way_to_thank=form.best_way_to_thank.data,
            **_slack_choices(form),
        ),
        now=utcnow(),
    )


def _slack_choices(form: PreferencesForm) -> dict[str, object]:
    """The Slack answers from the page when Slack is on (the page asks them
    only then); otherwise the stored ones, or the defaults for someone new."""
    choices: dict[str, object] = dict(stored_slack_choices(current_user.preference))
    if _slack_enabled():
        choices["slack_opt_in"] = bool(form.slack_opt_in.data)
        # Every page that asks sends one of the two; a post without it keeps the answer.
        if form.in_slack_channel.raw_data:
            choices["in_slack_channel"] = form.in_slack_channel.data
    return choices


def _next_url(form: PreferencesForm) -> str:
    target = form.next.data or ""
    return target if is_local_path(target) and not target.startswith("/onboarding") else "/"


@bp.route("/onboarding", methods=["GET", "POST"])
def onboarding() -> Response | tuple[str, int]:
    if request.method == "GET":
        form, favourites = _prefilled_form()
        form.next.data = request.args.get("next", "")
        return _render("preferences/onboarding.html", form, favourites)
    form = PreferencesForm()
    if request.form.get("action") == "later":
        postpone_onboarding(db.session, current_user, now=utcnow())
        db.session.commit()
        flash("No problem. You can tell us any time from the reminder at the top.", "info")
        return redirect(_next_url(form))
    try:
        _save(form)
    except PreferencesRejected as rejected:
        db.session.rollback()
        return _render(
            "preferences/onboarding.html",
            form,
            _favourite_ids(),
            errors=rejected.fields,
            status=422,
        )
    db.session.commit()
    flash(
        f"Thanks, {current_user.first_name}! Everyone who thanks you will see how you "
        "like to be recognised.",
        "success",
    )
    return redirect(_next_url(form))


@bp.route("/settings/recognition", methods=["GET", "POST"])
def settings() -> Response | tuple[str, int]:
    if request.method == "GET":
        form, favourites = _prefilled_form()
        return _render("preferences/settings.html", form, favourites)
    form = PreferencesForm()
    try:
        _save(form)
    except PreferencesRejected as rejected:
        db.session.rollback()
        return _render(
            "preferences/settings.html", form, _favourite_ids(), errors=rejected.fields, status=422
        )
    db.session.commit()
    flash("Saved. Kudos you have received and will receive follow your new preferences.", "success")
    return redirect(url_for("preferences.settings"))


def _send_new_people_to_onboarding() -> Response | None:
    if request.method != "GET" or not current_user.is_authenticated:
        return None
    if request.blueprint in ONBOARDING_EXEMPT_BLUEPRINTS or request.endpoint in (
        None,
        "static",
        "people.suggest",
    ):
        return None
    if needs_onboarding(current_user):
        return redirect(url_for("preferences.onboarding", next=request.full_path.rstrip("?")))
    return None


def init_app(app: Flask) -> None:
    app.before_request(_send_new_people_to_onboarding)
