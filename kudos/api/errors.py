"""The API's error format: {"error": {"code", "message", "fields"}} with the right status."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import HTTPException

from kudos.errors import MESSAGES, error_code


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.headers = headers or {}
        super().__init__(message)


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> tuple[Response, int]:
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(error=body)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kudos"'
    return response, status


def _api_error(error: ApiError) -> tuple[Response, int]:
    response, status = error_response(error.status, error.code, error.message, error.fields)
    response.headers.update(error.headers)
    return response, status


def _http_error(error: HTTPException) -> tuple[Response, int]:
    status = error.code or 500
    default = MESSAGES.get(status, ("", ""))[1]
    custom = error.description if error.description != type(error).description else None
    response, status = error_response(status, error_code(status), custom or default or error.name)
    # Its own headers (a 405's Allow, say), but not its HTML content type.
    response.headers.extend(
        (name, value) for name, value in error.get_headers() if name != "Content-Type"
    )
    return response, status


def init_blueprint(bp: Blueprint) -> None:
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(HTTPException, _http_error)
