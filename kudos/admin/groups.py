"""Admin console: teams and departments (who is in each, rename, merge)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from kudos.admin.blueprint import bp
from kudos.admin.forms import GroupMergeForm, GroupRenameForm
from kudos.extensions import db
from kudos.people.groups import (
    GroupChangeRefused,
    groups_with_counts,
    kind_of,
    members_of,
    merge_group,
    rename_group,
)
from kudos.people.models import Department, Team

MODELS = {"teams": Team, "departments": Department}


@bp.get("/teams")
def teams() -> str:
    return _list("teams")


@bp.get("/departments")
def departments() -> str:
    return _list("departments")


def _list(kinds: str) -> str:
    return render_template(
        "admin/groups.html",
        kinds=kinds,
        kind=kind_of(MODELS[kinds]),
        groups=groups_with_counts(db.session, MODELS[kinds]),
    )


def _group(kinds: str, group_id: int) -> Team | Department:
    model = MODELS.get(kinds) or abort(404)
    return db.session.get(model, group_id) or abort(404)


def _forms(kinds: str, group: Team | Department) -> tuple[GroupRenameForm, GroupMergeForm]:
    rename = GroupRenameForm(prefix="rename")
    merge = GroupMergeForm(prefix="merge")
    merge.into.choices = [
        (str(other.id), other.name)
        for other, _count in groups_with_counts(db.session, MODELS[kinds])
        if other.id != group.id
    ]
    return rename, merge


def _group_page(
    kinds: str,
    group: Team | Department,
    rename: GroupRenameForm,
    merge: GroupMergeForm,
    errors: dict[str, str],
) -> str:
    if not rename.name.data:
        rename.name.data = group.name
    return render_template(
        "admin/group.html",
        kinds=kinds,
        kind=kind_of(type(group)),
        group=group,
        members=members_of(db.session, group),
        rename=rename,
        merge=merge,
        errors=errors,
        admin_section=f"admin.{kinds}",
    )


@bp.get("/teams/<id:group_id>", defaults={"kinds": "teams"})
@bp.get("/departments/<id:group_id>", defaults={"kinds": "departments"})
def group(kinds: str, group_id: int) -> str:
    found = _group(kinds, group_id)
    return _group_page(kinds, found, *_forms(kinds, found), {})


def _refused(
    kinds: str,
    group_id: int,
    rename: GroupRenameForm,
    merge: GroupMergeForm,
    errors: dict[str, str],
    status: int,
) -> tuple[str, int]:
    """The page again, nothing changed, with the problem beside its field."""
    db.session.rollback()
    return _group_page(kinds, _group(kinds, group_id), rename, merge, errors), status


@bp.post("/teams/<id:group_id>/rename", defaults={"kinds": "teams"})
@bp.post("/departments/<id:group_id>/rename", defaults={"kinds": "departments"})
def group_rename(kinds: str, group_id: int) -> str | Response | tuple[str, int]:
    found = _group(kinds, group_id)
    rename, merge = _forms(kinds, found)
    if not rename.validate_on_submit():
        expired = {"rename-name": "The form had expired; try again."}
        return _refused(kinds, group_id, rename, merge, expired, 400)
    before = found.name
    try:
        changed = rename_group(db.session, current_user, found, rename.name.data or "")
    except GroupChangeRefused as refused:
        problems = {f"rename-{field}": text for field, text in refused.fields.items()}
        return _refused(kinds, group_id, rename, merge, problems, 422)
    db.session.commit()
    flash(
        f"{before} is now {found.name}; old links still work." if changed else "Nothing changed.",
        "success" if changed else "info",
    )
    return redirect(url_for("admin.group", kinds=kinds, group_id=found.id))


@bp.post("/teams/<id:group_id>/merge", defaults={"kinds": "teams"})
@bp.post("/departments/<id:group_id>/merge", defaults={"kinds": "departments"})
def group_merge(kinds: str, group_id: int) -> str | Response | tuple[str, int]:
    found = _group(kinds, group_id)
    rename, merge = _forms(kinds, found)
    if not merge.validate_on_submit():
        choose = {"merge-into": "Choose where to merge it."}
        return _refused(kinds, group_id, rename, merge, choose, 422)
    into = _group(kinds, int(merge.into.data))
    name = found.name
    try:
        moved = merge_group(db.session, current_user, found, into)
    except GroupChangeRefused as refused:
        problems = {f"merge-{field}": text for field, text in refused.fields.items()}
        return _refused(kinds, group_id, rename, merge, problems, 422)
    db.session.commit()
    people = "person" if moved == 1 else "people"
    flash(f"{name} is merged into {into.name}: {moved} {people} moved.", "success")
    return redirect(url_for("admin.group", kinds=kinds, group_id=into.id))
