"""The SCIM resources Kudos serves, as scim2-models (pydantic) models.

They declare exactly the attributes Kudos keeps, so the schemas published
at ``/scim/v2/Schemas`` promise nothing that would be dropped: a provider
(or a compliance checker) that writes an attribute reads it back. What
else a provider sends (phone numbers, addresses, ``preferredLanguage``…)
is ignored, as Entra ID and Okta expect (``POLICY``).

``emails`` is required: Kudos knows people by e-mail. A provider that
sends none is still accepted when its ``userName`` is an address, and a
creation without ``active`` makes an active person (``views._completed``).
``active`` is required so that no request leaves it unknown.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from scim2_models import (
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Name,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Email as ScimEmail
from scim2_models import GroupMembership as UserGroup

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# Pages are at most this long, whatever ``count`` asks for.
MAX_RESULTS = 500


class Email(ScimEmail):
    """An e-mail address; the work one is the person's in Kudos."""

    # Text, checked by ``provisioning.email_address``: pydantic's EmailStr
    # refuses the internal domains companies use (``corp.local``).
    value: Annotated[str | None, Required.true] = None
    """The address."""


class Manager(ComplexAttribute):
    """The person's manager, by SCIM id (or, when no person has that id,
    by ``externalId``: see ``provisioning``)."""

    value: Annotated[str | None, CaseExact.true] = None
    """The id of the SCIM resource representing the User's manager."""

    ref: Reference["User"] | None = Field(  # noqa: UP037 - a SCIM type
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the SCIM resource representing the User's manager (what
    a client sends is not read: ``value`` names the manager)."""

    display_name: Annotated[str | None, Mutability.read_only] = None
    """The displayName of the User's manager."""


class EnterpriseUser(Extension):
    """The enterprise extension's attributes that Kudos keeps."""

    __schema__ = ENTERPRISE  # type: ignore[assignment]

    department: str | None = None
    """The person's department (created when new)."""

    manager: Manager | None = None
    """The person's manager."""

    @field_validator("manager", mode="before")
    @classmethod
    def _manager_as_sent(cls, value: Any) -> Any:  # noqa: ANN401 - a JSON value
        """Entra ID sends the manager as a bare id, or as a list of one."""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            return {"value": value}
        return value


class User(Resource[AnyExtension]):
    """A person."""

    __schema__ = "urn:ietf:params:scim:schemas:core:2.0:User"  # type: ignore[assignment]

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    """Unique identifier for the User; an e-mail address for most providers."""

    name: Name | None = None
    """The components of the user's real name."""

    display_name: str | None = None
    """The name shown in Kudos."""

    title: str | None = None
    """The person's job title."""

    active: Annotated[bool | None, Required.true] = None
    """Whether the person may sign in; false deactivates them. A creation
    without it makes an active person."""

    emails: Annotated[list[Email] | None, Required.true] = None
    """E-mail addresses; the work one (or the primary one) is the person's."""

    groups: Annotated[list[UserGroup] | None, Mutability.read_only] = None
    """The person's team, as a group."""

    Name: ClassVar[type[ComplexAttribute]] = Name


class GroupMember(ComplexAttribute):
    """A person in a team."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The member's SCIM id."""

    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(  # noqa: UP037 - a SCIM type
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The member's URI."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """Always "User": teams do not nest."""


class Group(Resource[Any]):
    """A team. A person is in one team: joining a group leaves the other."""

    __schema__ = "urn:ietf:params:scim:schemas:core:2.0:Group"  # type: ignore[assignment]

    display_name: Annotated[str | None, Required.true] = None
    """The team's name."""

    members: list[GroupMember] | None = None
    """The team's people."""

    Members: ClassVar[type[ComplexAttribute]] = GroupMember


# What the identity providers send beyond RFC 7643, tolerated: attributes
# Kudos does not keep are ignored; a ``remove`` naming the values to remove
# in ``value`` (Entra's group membership removal) applies; a PATCH path
# filter that matches nothing (``emails[type eq "work"].value`` on a user
# with no work address) creates the entry it describes.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def provider() -> ScimProvider:
    """The service Kudos describes at ``/scim/v2``."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="The provisioning token made with `kudos scim token create`.",
                primary=True,
            )
        ],
    )
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser]),
            ResourceType.from_resource(Group),
        ],
        config=config,
        policy=POLICY,
    )
