"""Admin console: the directory import from the browser.

The same CSV and the same all-or-nothing import as ``kudos users import``.
Uploading only checks: the import runs inside a savepoint that is rolled
back, which gives either every problem in the file or the exact list of
who would be created, updated and deactivated. The admin then confirms,
and the file (carried back by the confirmation form) is imported for real.
"""

from __future__ import annotations

import base64
import binascii

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from kudos.admin.blueprint import bp
from kudos.admin.forms import ConfirmImportForm, ImportForm
from kudos.extensions import db
from kudos.people import directory
from kudos.people.directory import COLUMNS, DirectoryImportError, ImportReport

# Larger than other requests (``MAX_CONTENT_LENGTH``): 10,000 people are
# about 1 MB of CSV, and the confirmation carries the file back as base64.
UPLOAD_LIMIT = 8 * 1024 * 1024
UPLOAD_ENDPOINTS = {"admin.import_directory", "admin.import_confirm"}


@bp.url_value_preprocessor
def _larger_uploads(endpoint: str | None, _values: dict | None) -> None:
    """Set before any ``before_request`` hook reads the form (CSRF does)."""
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_LIMIT
        request.max_form_memory_size = UPLOAD_LIMIT


@bp.route("/import", methods=["GET", "POST"])
def import_directory() -> str | tuple[str, int]:
    form = ImportForm()
    if request.method == "GET":
        return _upload_page(form)
    upload = form.file.data
    if not form.validate_on_submit():
        return _upload_page(form, {"file": "The form had expired; choose the file again."}), 400
    if upload is None or not upload.filename:
        return _upload_page(form, {"file": "Choose the CSV file to import."}), 422
    data = upload.read()
    deactivate = bool(form.deactivate_missing.data)
    try:
        report = _dry_run(data, deactivate)
    except DirectoryImportError as error:
        return _upload_page(form, problems=error.problems, filename=upload.filename), 422
    confirm = ConfirmImportForm(
        upload=base64.b64encode(data).decode("ascii"), deactivate_missing="1" if deactivate else ""
    )
    return render_template(
        "admin/import_preview.html",
        report=report,
        confirm=confirm,
        filename=upload.filename,
        deactivate=deactivate,
    )


def _dry_run(data: bytes, deactivate: bool) -> ImportReport:
    """What the import would do, written nowhere."""
    savepoint = db.session.begin_nested()
    try:
        return directory.import_directory(
            db.session, data, deactivate_missing=deactivate, actor=current_user
        )
    finally:
        savepoint.rollback()


def _upload_page(
    form: ImportForm,
    errors: dict[str, str] | None = None,
    *,
    problems: list | None = None,
    filename: str | None = None,
) -> str:
    return render_template(
        "admin/import.html",
        form=form,
        errors=errors or {},
        problems=problems or [],
        filename=filename,
        columns=",".join(COLUMNS),
        admin_section="admin.import_directory",
    )


@bp.post("/import/confirm")
def import_confirm() -> str | Response | tuple[str, int]:
    form = ConfirmImportForm()
    try:
        data = base64.b64decode(form.upload.data or "", validate=True)
    except (binascii.Error, ValueError):
        data = b""
    if not form.validate_on_submit() or not data:
        flash("The confirmation had expired or lost its file; upload the file again.", "error")
        return redirect(url_for("admin.import_directory"))
    try:
        report = directory.import_directory(
            db.session,
            data,
            deactivate_missing=form.deactivate_missing.data == "1",
            actor=current_user,
        )
    except DirectoryImportError as error:
        # The directory changed since the preview (someone else imported).
        db.session.rollback()
        return _upload_page(ImportForm(), problems=error.problems), 422
    db.session.commit()
    flash(f"Directory imported: {report.summary()}", "success")
    return redirect(url_for("admin.people"))
