"""What a person sees when signing in goes wrong: a page, never a 500.

Each reason has an HTTP status, a title and a plain-language explanation
with what to do next. The log gets the reason and a short detail, never a
token, code or secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import render_template

from kudos import metrics
from kudos.logs import current_request_id

log = logging.getLogger("kudos.auth")


@dataclass(frozen=True)
class Problem:
    status: int
    title: str
    text: str
    can_retry: bool = True


PROBLEMS = {
    "cancelled": Problem(
        401,
        "Sign-in was cancelled",
        "You cancelled signing in at your company's sign-in page. No problem: try again "
        "whenever you are ready.",
    ),
    "provider_error": Problem(
        401,
        "Your company's sign-in service said no",
        "The sign-in service did not let you in this time. Try again; if it keeps happening, "
        "ask your IT team.",
    ),
    "stale": Problem(
        400,
        "That sign-in link has expired",
        "This sign-in was already used, took too long, or was started in another browser "
        "window. Start again from here.",
    ),
    "wrong_issuer": Problem(
        400,
        "That sign-in came from the wrong place",
        "The answer did not come from your company's sign-in service, so we ignored it. "
        "Start again from here.",
    ),
    "invalid_token": Problem(
        401,
        "We couldn't verify your sign-in",
        "The proof of identity from your company's sign-in service did not check out "
        "(it may have expired, or your computer's clock may be off). Try again.",
    ),
    "unreachable": Problem(
        503,
        "We can't reach your company's sign-in service",
        "It may be down or slow right now. Please try again in a few minutes.",
    ),
    "misconfigured": Problem(
        503,
        "Sign-in is not set up correctly",
        "Kudos and your company's sign-in service disagree about their settings. Please tell "
        "your IT team; they will find the details in the Kudos log.",
        can_retry=False,
    ),
    "not_in_directory": Problem(
        403,
        "You're not in the Kudos directory yet",
        "Your company account works, but Kudos doesn't know you yet. Ask your Kudos admin or "
        "IT team to add you; it usually happens with the next directory update.",
        can_retry=False,
    ),
    "email_unverified": Problem(
        403,
        "Your sign-in service hasn't confirmed your e-mail address",
        "Kudos finds you by your e-mail address, so it only lets you in once your company's "
        "sign-in service has confirmed that the address is yours. Ask your IT team to verify "
        "your e-mail address at the sign-in service, then sign in again.",
        can_retry=False,
    ),
    "email_reassigned": Problem(
        403,
        "This e-mail address belongs to another account",
        "Someone else already signs in to Kudos with this e-mail address from your company's "
        "sign-in service, so we can't connect your account to it. If the address was passed "
        "on to you, ask your Kudos admin or IT team to sort out the old account first.",
        can_retry=False,
    ),
    "no_email": Problem(
        403,
        "Your sign-in service didn't share your e-mail address",
        "Kudos needs your e-mail address to know who you are. Ask your IT team to release the "
        "e-mail claim to Kudos.",
        can_retry=False,
    ),
    "deactivated": Problem(
        403,
        "Your Kudos account is deactivated",
        "If you think this is a mistake, ask your Kudos admin to reactivate it.",
        can_retry=False,
    ),
}


def problem_page(reason: str, detail: str = "") -> tuple[str, int]:
    problem = PROBLEMS[reason]
    metrics.SIGN_IN_FAILURES.labels(reason).inc()
    log.warning("sign-in failed: %s%s", reason, f" ({detail})" if detail else "")
    page = render_template("auth/problem.html", problem=problem, request_id=current_request_id())
    return page, problem.status
