"""``/scim/v2``: the SCIM 2.0 service provider (RFC 7643, RFC 7644).

scim2-server serves the protocol; this blueprint authenticates the
provisioning client (its bearer token, ``kudos scim token create``, and
nothing else), counts it against its rate limit, and commits each request
that succeeded or rolls back one that did not, so a refused request leaves
nothing half-written. Every answer, errors included, is
``application/scim+json`` in SCIM's error format.
"""

from __future__ import annotations

import functools
import json
import re
from http import HTTPStatus
from typing import Any, Union

from flask import Blueprint, Flask, Response, current_app, g, request
from scim2_models import (
    Context,
    Error,
    ListResponse,
    PatchOp,
    Path,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    SearchRequest,
    UniquenessException,
)
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from kudos import cache, ratelimit
from kudos.db import utcnow
from kudos.extensions import csrf, db
from kudos.scim import tokens
from kudos.scim.resources import ENTERPRISE, provider
from kudos.scim.storage import DirectoryStorage, patched_fields
from kudos.urls import base_url

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)  # a bearer token, never a cookie: no CSRF


class ProvisioningService(ScimService):
    """scim2-server's protocol, with what Kudos adds for its clients."""

    def read_creation(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        return super().read_creation(resource_type, _completed(body, creation=True), content_type)

    def read_replacement(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        return super().read_replacement(
            resource_type, _completed(body, creation=False), content_type
        )

    def read_patch(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> PatchOp[Any]:
        patch = super().read_patch(resource_type, _entra_patch(body), content_type)
        g.scim_patched = patched_fields(patch.operations or [])
        return patch

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        # 200 with the resource, never 204: Okta reads the user back from it.
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
        )


def _entra_patch(body: bytes) -> bytes:
    """A PATCH as Entra ID writes it, in RFC 7644's terms: ``manager`` or
    ``department`` without their schema (the enterprise extension's, as
    Microsoft's examples name them), and values to remove that carry
    ``"$ref": null`` beside the ``value`` that picks them."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    operations = payload.get("Operations") if isinstance(payload, dict) else None
    if not isinstance(operations, list):
        return body
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = operation.get("path")
        if isinstance(path, str) and re.match(r"(?i)(manager|department)\b(?![:])", path):
            operation["path"] = f"{ENTERPRISE}:{path}"
        if str(operation.get("op", "")).lower() == "remove" and isinstance(
            operation.get("value"), list
        ):
            operation["value"] = [
                {key: item for key, item in entry.items() if item is not None}
                if isinstance(entry, dict)
                else entry
                for entry in operation["value"]
            ]
    return json.dumps(payload).encode()


def _completed(body: bytes, *, creation: bool) -> bytes:
    """A User body with what Kudos requires and a client may leave out: a
    User without ``emails`` whose ``userName`` is an address gets it as its
    work address (Entra ID sends none for someone whose mail attribute is
    empty); a new User without ``active`` is active."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body  # the service reports the syntax error
    if not isinstance(payload, dict) or "userName" not in payload:
        return body  # not a User
    changed = False
    user_name = payload.get("userName")
    if not payload.get("emails") and isinstance(user_name, str) and "@" in user_name:
        payload["emails"] = [{"value": user_name, "type": "work", "primary": True}]
        changed = True
    if creation and payload.get("active") is None:
        payload["active"] = True
        changed = True
    return json.dumps(payload).encode() if changed else body


@functools.cache
def _handler() -> ScimHandler:
    """scim2-server's handler over the directory: built once, shared by
    every app and thread (the provider is immutable; the storage reads the
    request's session)."""
    service = ProvisioningService(provider())
    models = {
        resource_type.name: service.get_model(resource_type)
        for resource_type in service.provider.resource_types
    }
    _KEPT.extend(_request_models(list(models.values())))
    return ScimHandler(service, DirectoryStorage(lambda: db.session, models))


# pydantic holds parametrized models (``PatchOp[User]``…) only weakly: after
# a garbage collection scim2-server would build them again, ~60 ms at the
# next request. Held here, they are built once.
_KEPT: list[type] = []


def _request_models(models: list[type[Resource[Any]]]) -> list[type]:
    every = Union[tuple(models)]  # noqa: UP007 - the union scim2-server makes for the root
    kept: list[type] = [SearchRequest[every], ListResponse[every]]
    for model in models:
        kept += [
            ResponseParameters[model],
            SearchRequest[model],
            ListResponse[model],
            PatchOp[model],
            Path[model],
        ]
    return kept


def _response(scim_response: ScimResponse) -> Response:
    body = json.dumps(scim_response.body) if scim_response.body is not None else None
    return Response(body, status=scim_response.status, headers=scim_response.headers)


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    payload = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    response = _response(ScimResponse(HTTPStatus(status), payload))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kudos-scim"'
    return response


@bp.before_request
def authenticate() -> Response | None:
    """Only a live provisioning token opens ``/scim/v2``."""
    cache.renew_at_commit(db.session)
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    token = (
        tokens.authenticate(db.session, raw.strip(), now=utcnow())
        if scheme.lower() == "bearer"
        else None
    )
    if token is None:
        db.session.rollback()
        return error(401, "Send the provisioning token: Authorization: Bearer kudos_scim_…")
    g.scim_token_key = token.token_hash[:16]
    return None


@bp.route("/", defaults={"path": ""}, methods=METHODS, strict_slashes=False)
@bp.route("/<path:path>", methods=METHODS)
@ratelimit.provisioning
def endpoint(path: str) -> Response:
    scim_request = ScimRequest(
        method=request.method,
        base_url=base_url() + bp.url_prefix,
        path="/" + path,
        query=request.args.to_dict(),
        headers=list(request.headers.items()),
        body=request.get_data(),
    )
    handler = _handler()
    try:
        response = handler.handle(scim_request)
    except Exception as exc:  # noqa: BLE001 - every SCIM error becomes its response
        db.session.rollback()
        if isinstance(exc, IntegrityError):
            return error(409, "Someone else has that value already.", "uniqueness")
        if isinstance(exc, OperationalError | DataError | HTTPException):
            raise
        if not isinstance(exc, SCIMException):
            current_app.logger.exception("scim: %s %s failed", request.method, request.path)
        return _response(handler.service.error_response(exc))
    if response.status >= 400:
        db.session.rollback()
        return _response(response)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _response(
            handler.service.error_response(
                UniquenessException(detail="Someone else has that value already.")
            )
        )
    return _response(response)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description or HTTPStatus(status).phrase
    response = error(status, detail, "tooMany" if status == 429 else None)
    response.headers.extend(
        (name, value) for name, value in exc.get_headers() if name.lower() != "content-type"
    )
    return response


@bp.errorhandler(OperationalError)
def database_unavailable(exc: OperationalError) -> Response:
    db.session.rollback()
    response = error(503, "Kudos is very busy right now; try again in a moment.")
    response.headers["Retry-After"] = "5"
    return response


@bp.errorhandler(DataError)
def bad_data(exc: DataError) -> Response:
    db.session.rollback()
    return error(400, "A value is out of range.", "invalidValue")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
