"""Directory import: people, teams, departments and managers from a CSV file.

The file is read and checked completely before anything is written. If any
row is bad, every problem is reported with its line number and nothing is
imported, so the directory is never left half-written. A good file is
applied with a handful of bulk statements (not one query per row), creates
or updates people by e-mail (case-insensitively), and is idempotent.

A field SCIM provisioning set last is SCIM's (``sources.owned_by_scim``):
the file leaves it as it is, and the report says what it left. A person
whose ``active`` is SCIM's is neither reactivated by being listed nor
deactivated by being missing; the identity provider decides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kudos.audit.services import Actor, record
from kudos.db import utcnow
from kudos.people import former_slugs
from kudos.people.groups import kind_of
from kudos.people.hierarchy import cycle_from, people_in_cycles
from kudos.people.models import Department, Person, Team, normalize_email
from kudos.people.services import deactivate_people, reactivate_people
from kudos.people.sources import FIELDS, IMPORT, owned_by_scim, recorded
from kudos.progress_callback import OnProgress, silent
from kudos.text import has_control_characters, slugify

COLUMNS = ("email", "name", "title", "department", "team", "manager_email")
# What SCIM may own of a person the file lists: the profile fields and the account.
SCIM_FIELDS = (*FIELDS, "active")
MAX_LENGTHS = {"email": 320, "name": 200, "title": 200, "department": 120, "team": 120}


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class DirectoryImportError(Exception):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    teams_created: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    # Who, for the admin console's preview (not audited: the counts are).
    created_emails: list[str] = field(default_factory=list)
    updated_fields: dict[str, list[str]] = field(default_factory=dict)
    deactivated_emails: list[str] = field(default_factory=list)
    # What the file would have changed but SCIM owns, so left as it is:
    # {email: ["team", "active", ...]} ("active": not reactivated, or not
    # deactivated as missing).
    scim_kept: dict[str, list[str]] = field(default_factory=dict)

    @property
    def scim_kept_count(self) -> int:
        return sum(len(fields) for fields in self.scim_kept.values())

    def summary(self) -> str:
        parts = [
            f"{self.created} created",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{self.deactivated} deactivated",
        ]
        if kept := self.scim_kept_count:
            parts.append(f"{kept} field{'s' if kept != 1 else ''} left to SCIM provisioning")
        if self.departments_created:
            parts.append(f"{len(self.departments_created)} new departments")
        if self.teams_created:
            parts.append(f"{len(self.teams_created)} new teams")
        return ", ".join(parts) + "."

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "teams_created": self.teams_created,
            "departments_created": self.departments_created,
            "scim_kept": self.scim_kept_count,
        }


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str
    title: str | None
    department: str | None
    team: str | None
    manager_email: str | None


def import_directory(
    session: Session,
    data: bytes,
    *,
    deactivate_missing: bool = False,
    actor: Actor = None,
    on_progress: OnProgress | None = None,
) -> ImportReport:
    """Apply a directory CSV; raise ``DirectoryImportError`` and write nothing
    if any row is bad. Flushes; the caller commits."""
    report_progress = on_progress or silent
    rows = parse(data, on_progress=report_progress)
    report_progress("reading the directory", 0, None)
    existing = {person.email: person for person in session.scalars(select(Person))}
    _refuse_unconfirmed_accounts(rows, existing)
    owned = _owned_by_scim(rows, existing)
    _check_managers(rows, existing, owned)

    report = ImportReport()
    # Groups only the file's applied values need: a team SCIM keeps is not created.
    department_ids = _ensure_groups(
        session,
        Department,
        (r.department for r in rows if "department" not in owned[r.email]),
        report.departments_created,
        also_find=(r.department for r in rows if "department" in owned[r.email]),
    )
    team_ids = _ensure_groups(
        session,
        Team,
        (r.team for r in rows if "team" not in owned[r.email]),
        report.teams_created,
        also_find=(r.team for r in rows if "team" in owned[r.email]),
    )

    now = utcnow()
    new_rows = [row for row in rows if row.email not in existing]
    if new_rows:
        session.execute(
            insert(Person),
            [
                {
                    "email": row.email,
                    "name": row.name,
                    "title": row.title,
                    "department_id": department_ids.get(row.department),
                    "team_id": team_ids.get(row.team),
                    "active": True,
                    "admin_granted": False,
                    "session_version": 1,
                    "profile_sources": dict.fromkeys(FIELDS, IMPORT),
                    "created_at": now,
                    "updated_at": now,
                }
                for row in new_rows
            ],
        )
        report.created = len(new_rows)
        report.created_emails = [row.email for row in new_rows]

    ids = dict(session.execute(select(Person.email, Person.id)).all())
    changes: list[dict[str, Any]] = []
    reactivated: list[int] = []
    for done, row in enumerate(rows):
        report_progress("people", done, len(rows))
        wanted = {
            "name": row.name,
            "title": row.title,
            "department": _id_of(department_ids, row.department),
            "team": _id_of(team_ids, row.team),
            "manager": _id_of(ids, row.manager_email),
            "active": True,
        }
        current = existing.get(row.email)
        if current is None:
            if wanted["manager"] is not None:
                changes.append(
                    {"id": ids[row.email], "manager_id": wanted["manager"], "updated_at": now}
                )
            continue
        differing = {
            name: value
            for name, value in wanted.items()
            if getattr(current, _COLUMN_OF[name]) != value
        }
        if kept := [name for name in SCIM_FIELDS if name in differing and name in owned[row.email]]:
            report.scim_kept[row.email] = kept
            for name in kept:
                del differing[name]
        reactivate = differing.pop("active", None) is not None
        if reactivate:
            reactivated.append(current.id)
        if differing:
            columns = {_COLUMN_OF[name]: value for name, value in differing.items()}
            changes.append({"id": current.id, **columns, "updated_at": now})
        if sources := _sources_after(current, differing):
            changes.append({"id": current.id, "profile_sources": sources})
        if differing or reactivate:
            report.updated += 1
            updated = [name for name in FIELDS if name in differing]
            report.updated_fields[row.email] = updated + (["reactivated"] if reactivate else [])
        else:
            report.unchanged += 1
    report_progress("people", len(rows), len(rows))
    report_progress("saving", 0, None)
    # Grouped by the set of columns changed, so each group is one executemany.
    for group in _group_by_keys(changes):
        session.execute(update(Person), group)
    # Through the people services, as every other path: deactivation ends
    # sessions and revokes API tokens, reactivation gives back neither.
    reactivate_people(session, reactivated, actor=actor, now=now)
    if deactivate_missing:
        listed = {row.email for row in rows}
        missing = [
            person for email, person in existing.items() if email not in listed and person.active
        ]
        # Whom SCIM provisions, the identity provider deactivates.
        for person in missing:
            if owned_by_scim(person, "active"):
                report.scim_kept[person.email] = ["active"]
        gone = set(
            deactivate_people(
                session,
                [person.id for person in missing if person.email not in report.scim_kept],
                actor=actor,
                now=now,
            )
        )
        report.deactivated = len(gone)
        report.deactivated_emails = sorted(
            email for email, person in existing.items() if person.id in gone
        )

    session.expire_all()
    record(session, actor, "directory.import", details=report.as_dict())
    session.flush()
    return report


def _owned_by_scim(rows: list[Row], existing: dict[str, Person]) -> dict[str, set[str]]:
    """For each listed e-mail, the fields (and ``active``) SCIM owns, which
    the file leaves alone: none for people the file creates."""
    return {
        row.email: {
            name
            for name in SCIM_FIELDS
            if (person := existing.get(row.email)) is not None and owned_by_scim(person, name)
        }
        for row in rows
    }


# Compares unequal to every id: a kept team the directory does not have yet
# (it is not created for a value the file does not apply).
_UNKNOWN = object()


def _id_of(ids: dict[str, int], key: str | None) -> int | object | None:
    return ids.get(key, _UNKNOWN) if key else None


def _sources_after(person: Person, changed: dict[str, Any]) -> dict[str, str] | None:
    """The person's field sources once the import has set ``changed``, or
    None when they stay as they are: a field the file changed, or whose
    source was never recorded, now comes from the import. (A field SCIM
    owns is recorded, and never in ``changed``: it stays SCIM's.)"""
    fields = [
        field for field in FIELDS if field in changed or field not in (person.profile_sources or {})
    ]
    return recorded(person, fields, IMPORT) if fields else None


_COLUMN_OF = {
    "name": "name",
    "title": "title",
    "department": "department_id",
    "team": "team_id",
    "manager": "manager_id",
    "active": "active",
}


def parse(data: bytes, *, on_progress: OnProgress = silent) -> list[Row]:
    """Decode and validate the whole file; raise with every problem found.
    ``on_progress`` hears the lines checked, of about the lines in the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DirectoryImportError(
            [Problem(line, "the file is not UTF-8 text; save it as CSV UTF-8 and try again")]
        ) from None
    if not text.strip():
        raise DirectoryImportError(
            [Problem(1, "the file is empty; expected a header line: " + ",".join(COLUMNS))]
        )

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [column.strip().lower() for column in next(reader)]
    except csv.Error as exc:
        raise DirectoryImportError([Problem(1, f"unreadable CSV: {exc}")]) from None
    if sorted(header) != sorted(COLUMNS):
        raise DirectoryImportError([Problem(1, _header_problem(header))])

    problems: list[Problem] = []
    rows: list[Row] = []
    first_line_of: dict[str, int] = {}
    # Lines, not rows: a quoted value may hold a line break.
    header_lines = reader.line_num
    lines = text.count("\n") + (not text.endswith("\n")) - header_lines
    try:
        for values in reader:
            line = reader.line_num
            on_progress("checking lines", min(line - header_lines - 1, lines), lines)
            if not any(value.strip() for value in values):
                continue  # blank lines are harmless
            if len(values) != len(header):
                problems.append(
                    Problem(line, f"expected {len(header)} columns, found {len(values)}")
                )
                continue
            record_ = {column: value.strip() for column, value in zip(header, values, strict=True)}
            row, row_problems = _check_row(line, record_)
            problems.extend(row_problems)
            if row is None:
                continue
            if row.email in first_line_of:
                problems.append(
                    Problem(
                        line,
                        f"duplicate e-mail {row.email}, already on line {first_line_of[row.email]}",
                    )
                )
                continue
            first_line_of[row.email] = line
            rows.append(row)
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, f"unreadable CSV: {exc}"))
    on_progress("checking lines", lines, lines)
    if not rows and not problems:
        problems.append(Problem(2, "the file has a header but no people"))
    if problems:
        raise DirectoryImportError(problems)
    return rows


def _header_problem(header: list[str]) -> str:
    missing = [column for column in COLUMNS if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    details = []
    if missing:
        details.append("missing " + ", ".join(missing))
    if unknown:
        details.append("unknown " + ", ".join(repr(column) for column in unknown))
    if repeated:
        details.append("repeated " + ", ".join(repeated))
    return f"wrong header ({'; '.join(details)}); expected exactly: " + ",".join(COLUMNS)


def _check_email(value: str) -> str:
    """The normalised address, or ``ValueError`` with a reason."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return normalize_email(result.normalized)


def _check_row(line: int, values: dict[str, str]) -> tuple[Row | None, list[Problem]]:
    problems: list[Problem] = []
    email = None
    if not values["email"]:
        problems.append(Problem(line, "missing e-mail"))
    else:
        try:
            email = _check_email(values["email"])
        except ValueError as exc:
            problems.append(Problem(line, f"malformed e-mail {values['email']!r}: {exc}"))
    manager_email = None
    if values["manager_email"]:
        try:
            manager_email = _check_email(values["manager_email"])
        except ValueError as exc:
            problems.append(
                Problem(line, f"malformed manager e-mail {values['manager_email']!r}: {exc}")
            )
    if not values["name"]:
        problems.append(Problem(line, "missing name"))
    for column, limit in MAX_LENGTHS.items():
        if len(values[column]) > limit:
            problems.append(Problem(line, f"{column} is longer than {limit} characters"))
    if any(has_control_characters(value) for value in values.values()):
        problems.append(Problem(line, "contains control characters"))
    if values["department"] and not slugify(values["department"]):
        problems.append(
            Problem(line, f"department {values['department']!r} has no letters or digits")
        )
    if values["team"] and not slugify(values["team"]):
        problems.append(Problem(line, f"team {values['team']!r} has no letters or digits"))
    if problems or email is None:
        return None, problems
    if manager_email == email:
        return None, [Problem(line, f"{email} is listed as their own manager")]
    return Row(
        line=line,
        email=email,
        name=values["name"],
        title=values["title"] or None,
        department=values["department"] or None,
        team=values["team"] or None,
        manager_email=manager_email,
    ), []


def _refuse_unconfirmed_accounts(rows: list[Row], existing: dict[str, Person]) -> None:
    """Defence in depth: never give a directory entry (its reports, its
    manager's summary) to an account whose last sign-in came with an e-mail
    address the identity provider had not confirmed. Sign-in no longer
    creates such accounts, but one made by an older version, or one whose
    provider stopped confirming the address, may still exist. The whole
    file is refused, like any bad row, so an admin looks before anything
    changes."""
    problems = [
        Problem(
            row.line,
            f"{row.email} belongs to an account whose sign-in service has not confirmed that "
            "address, so it is not merged with the directory; have IT confirm the address and "
            "the person sign in again, or leave the row out",
        )
        for row in rows
        if (person := existing.get(row.email)) is not None and person.unverified_sign_in
    ]
    if problems:
        raise DirectoryImportError(problems)


def _check_managers(
    rows: list[Row], existing: dict[str, Person], owned: dict[str, set[str]]
) -> None:
    """Second pass: every manager the file sets must be in the file or
    already in the directory, and the resulting reporting lines must not
    form a cycle. A manager SCIM owns stays, whatever the file says, so the
    check walks the kept one."""
    by_email = {row.email: row for row in rows}
    problems = [
        Problem(
            row.line, f"unknown manager {row.manager_email}: not in this file nor in the directory"
        )
        for row in rows
        if row.manager_email
        and "manager" not in owned[row.email]
        and row.manager_email not in by_email
        and row.manager_email not in existing
    ]
    if problems:
        raise DirectoryImportError(problems)

    # The reporting lines after the import: the file wins for people it
    # lists, but for the managers SCIM owns.
    email_of = {person.id: email for email, person in existing.items()}
    manager_of: dict[str, str | None] = {
        email: email_of.get(person.manager_id) if person.manager_id else None
        for email, person in existing.items()
    }
    manager_of.update(
        {row.email: row.manager_email for row in rows if "manager" not in owned[row.email]}
    )

    in_cycle = people_in_cycles(manager_of, by_email)
    if in_cycle:
        cycle_rows = [row for row in rows if row.email in in_cycle]
        # The lines to fix: those whose manager the file sets.
        cycle_rows = [row for row in cycle_rows if "manager" not in owned[row.email]] or cycle_rows
        raise DirectoryImportError(
            Problem(
                row.line,
                f"manager cycle: {row.email} reports (directly or not) to "
                "themselves through " + " → ".join(cycle_from(row.email, manager_of)),
            )
            for row in cycle_rows
        )


def _ensure_groups(
    session: Session,
    model: type[Department] | type[Team],
    names: Iterable[str | None],
    created: list[str],
    *,
    also_find: Iterable[str | None] = (),
) -> dict[str, int]:
    """Map each team or department name to its id, creating missing ones,
    and each of ``also_find`` to its id if it exists (never created).

    Names match by slug, so "Customer Success" and "customer success" are one team.
    """
    listed = {name for name in names if name}
    looked_up = {name for name in also_find if name}
    first_name_of: dict[str, str] = {}
    for name in sorted(listed):
        first_name_of.setdefault(slugify(name), name)
    # A group renamed or merged in the console is found by its old name too.
    known = {
        **former_slugs.targets(session, kind_of(model)),
        **dict(session.execute(select(model.slug, model.id)).all()),
    }
    missing = {slug: name for slug, name in first_name_of.items() if slug not in known}
    if missing:
        now = utcnow()
        session.execute(
            insert(model),
            [{"slug": slug, "name": name, "created_at": now} for slug, name in missing.items()],
        )
        created.extend(sorted(missing.values()))
        known.update(session.execute(select(model.slug, model.id)).all())
    return {name: known[slugify(name)] for name in listed | looked_up if slugify(name) in known}


def _group_by_keys(changes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(change)), []).append(change)
    return list(groups.values())
