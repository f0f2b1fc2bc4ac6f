"""A small SCIM client for tests: the provisioning token, SCIM's media type."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

MEDIA_TYPE = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any):  # noqa: ANN401
        data = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if data is not None:
            headers.setdefault("Content-Type", MEDIA_TYPE)
        return self.client.open(
            "/scim/v2" + path, method=method, data=data, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any):  # noqa: ANN401
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any):  # noqa: ANN401
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any):  # noqa: ANN401
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, *operations: dict[str, Any], **kwargs: Any):  # noqa: ANN401
        return self.request(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kwargs
        )

    def delete(self, path: str, **kwargs: Any):  # noqa: ANN401
        return self.request("DELETE", path, **kwargs)


def user(user_name: str, **attributes: Any) -> dict[str, Any]:  # noqa: ANN401
    """A User body with a work address equal to ``user_name`` unless given."""
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": user_name,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }
    body.update(attributes)
    return body
