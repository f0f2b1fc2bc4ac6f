"""The glue between the API's pydantic models and Flask: field types that say
what is wrong in words, request validation that lists every problem in one
answer, and the OpenAPI document that flask-openapi3 collects from the views.

flask-openapi3 validates a request part by part (headers, then the query,
then the body) and stops at the first part that fails, answering pydantic's
own error list. The API promises more: one answer in its error format with
every field's problem, the token checked before any of it. So the views hand
validation to ``validated`` (flask-openapi3's documented way to delay it),
which runs after the token check and checks every part before answering.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar, get_args

from annotated_types import Ge, Le
from flask import request
from flask_openapi3.models import APISpec, Components, Info, Server, Tag
from flask_openapi3.utils import get_model_schema, parse_parameters
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaMode
from pydantic_core import PydanticCustomError

from kudos.api.errors import ApiError

View = TypeVar("View", bound=Callable[..., Any])
# What the rules (beyond the shape) say about the fields that have the right
# shape, so that one answer lists every problem: field name -> message.
RuleCheck = Callable[[dict[str, Any]], dict[str, str]]
REF = "#/components/schemas/"


class Say:
    """Field metadata: the message for a kind of pydantic error on this field
    (``too_short``, ``literal_error``, …), or for any error, where the generic
    one says too little."""

    def __init__(self, always: str | None = None, **messages: str) -> None:
        self.always, self.messages = always, messages

    def message(self, kind: str) -> str | None:
        return self.messages.get(kind, self.always)


def text_problem(text: str) -> str | None:
    """What no text field may hold, whatever it means: a NUL (PostgreSQL cannot
    store one) or a lone UTF-16 surrogate (JSON allows "\\ud800"; UTF-8 cannot
    encode it, so the database driver would fail)."""
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogates)."
    return None


def _storable(text: str) -> str:
    if problem := text_problem(text):
        raise PydanticCustomError("text", problem)
    return text


def _digits(value: object) -> object:
    """A query's whole number as people write it: digits only (pydantic would
    also take " 5", "+5" or "5_0", which the document does not allow)."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "Not a whole number.")
    return value


def _true_or_false(value: object) -> object:
    """A query's boolean: ``true`` or ``false``, as the document says (pydantic
    would also take yes, on, 1, …)."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_parsing", "Not true or false.")
    return value == "true" if isinstance(value, str) else value


Text = Annotated[str, AfterValidator(_storable)]
QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]


def query_int(low: int, high: int) -> Any:  # noqa: ANN401 - a type
    """A query's whole number from ``low`` to ``high`` (bounds inside the
    digits check, so that the document shows them)."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_digits)]


def _untitled(schema: dict[str, Any]) -> None:
    """pydantic titles every field after its name: noise in the document."""
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)


def _as_parameters(schema: dict[str, Any]) -> None:
    """A query parameter is absent or a value, never null."""
    _untitled(schema)
    for field in schema.get("properties", {}).values():
        branches = [branch for branch in field.pop("anyOf", []) if branch != {"type": "null"}]
        if len(branches) == 1:
            field.update(branches[0])
        elif branches:
            field["anyOf"] = branches
        if field.get("default", 0) is None:
            del field["default"]


class Request(BaseModel):
    """A JSON body: JSON's own types only (no "1" for 1), and no unknown field."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra=_untitled)


class Query(BaseModel):
    """Parameters (in the query, a header or the path); unknown ones are
    ignored, as most APIs do."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_as_parameters)


class Answer(BaseModel):
    """An answer, read from the database's objects by attribute. Every field
    is always present, so the document marks them all required."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_untitled,
    )


# Problems in words -------------------------------------------------------------


def _bounds(model: type[BaseModel], name: str) -> tuple[int | None, int | None]:
    low = high = None
    for item in model.model_fields[name].metadata:
        if isinstance(item, Ge):
            low = item.ge
        elif isinstance(item, Le):
            high = item.le
    return low, high


def _types_in(annotation: Any) -> set[type]:  # noqa: ANN401
    found = {annotation} if isinstance(annotation, type) else set()
    for inner in get_args(annotation):
        found |= _types_in(inner)
    return found


def _item_kinds(model: type[BaseModel], name: str) -> str:
    types = _types_in(model.model_fields[name].annotation)
    kinds = [word for kind, word in ((int, "integers"), (str, "strings")) if kind in types]
    return " or ".join(kinds) or "items"


def _message(model: type[BaseModel], name: str, error: dict[str, Any]) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if kind == "text":  # what no text may hold (a NUL), whatever the field
        return error["msg"]
    field = model.model_fields.get(name)
    for item in field.metadata if field else ():
        if isinstance(item, Say) and (said := item.message(kind)):
            return said
    if kind == "missing":
        return "This field is required."
    if kind == "extra_forbidden":
        return "Unknown field."
    if kind.startswith("bool_"):
        return "Must be true or false."
    if kind.startswith("int_") or kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(model, name)
        if low is not None and high is not None:
            return f"Must be a whole number from {low} to {high}."
        return "Must be a whole number."
    if kind == "list_type" or isinstance(error["loc"][1:2] and error["loc"][1], int):
        return f"Must be a list of {_item_kinds(model, name)}."
    if kind == "string_type":
        return "Must be a string."
    if kind == "string_too_short":
        return "Must not be empty." if context["min_length"] == 1 else error["msg"]
    if kind in ("string_too_long", "too_long") and isinstance(error["input"], str):
        return f"Keep it to {context['max_length']} characters (now {len(error['input'])})."
    if kind == "too_long":
        return f"At most {context['max_length']} items."
    if kind == "too_short":
        return f"At least {context['min_length']} items."
    if kind == "literal_error":
        return f"Must be one of: {context['expected']}."
    return error["msg"]


def _field_name(model: type[BaseModel], key: object) -> str:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return name
    return str(key)


def problems_of(model: type[BaseModel], error: ValidationError) -> dict[str, str]:
    """One message per field, the first pydantic found, in words."""
    problems: dict[str, str] = {}
    for item in error.errors():
        if item["loc"]:
            name = _field_name(model, item["loc"][0])
            if item["type"] == "text" or name not in problems:  # a NUL says more
                problems[name] = _message(model, name, item)
    return problems


def _valid_fields(model: type[BaseModel], data: dict[str, Any], bad: set[str]) -> dict[str, Any]:
    """The fields that have the right shape, as the model makes them."""
    partial = model.model_construct()
    for key, value in data.items():
        name = _field_name(model, key)
        if name in model.model_fields and name not in bad:
            try:
                model.__pydantic_validator__.validate_assignment(partial, name, value)
            except ValidationError:  # fine alone, not beside the others: leave it out
                continue
    return {name: getattr(partial, name) for name in partial.model_fields_set}


def invalid(problems: dict[str, str], *, query: bool = False) -> ApiError:
    what = "parameters" if query else "fields"
    return ApiError(422, "invalid", f"Some {what} are not valid.", problems)


# Reading a request -------------------------------------------------------------


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(
            415, "unsupported_media_type", "Send JSON with Content-Type: application/json."
        )
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    except RecursionError:  # thousands of nested brackets fit in 1 MiB
        raise ApiError(400, "invalid_json", "The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", "The body must be a JSON object.")
    return data


def _headers(model: type[BaseModel]) -> dict[str, str]:
    wanted = {(field.alias or name).lower() for name, field in model.model_fields.items()}
    return {name: value for name, value in request.headers.items() if name.lower() in wanted}


def validated(rules: RuleCheck | None = None) -> Callable[[View], View]:
    """Validate the view's ``path``, ``header``, ``query`` and ``body`` models (its
    annotations, as flask-openapi3 reads them) and pass them in. On a problem,
    raise one 422 with every field's problem, and what ``rules`` say about
    the fields that were fine; a bad header alone is a 400."""

    def decorator(view: View) -> View:
        header, _, path, query, _, body, _ = parse_parameters(view, doc_ui=False)
        parts = [
            (name, model, read)
            for name, model, read in (
                ("header", header, lambda: _headers(header)),
                ("query", query, lambda: request.args.to_dict()),
                ("body", body, json_body),
            )
            if model is not None
        ]

        @wraps(view)
        def wrapper(**kwargs: Any) -> Any:  # noqa: ANN401
            if path is not None:  # its converters have checked it: a bad one is a 404
                kwargs = {"path": path.model_validate(kwargs)}
            problems: dict[str, dict[str, str]] = {}
            valid: dict[str, Any] = {}
            for name, model, read in parts:
                data = read()
                try:
                    kwargs[name] = model.model_validate(data)
                except ValidationError as error:
                    problems[name] = problems_of(model, error)
                    valid.update(_valid_fields(model, data, set(problems[name])))
                else:
                    valid.update(kwargs[name].model_dump())
            if not problems:
                return view(**kwargs)
            found = {name: text for part in problems.values() for name, text in part.items()}
            if set(problems) == {"header"}:
                raise ApiError(400, "invalid", "A header is not valid.", found)
            for name, text in (rules(valid) if rules else {}).items():
                found.setdefault(name, text)
            raise invalid(found, query="body" not in problems)

        wrapper.__delay_validate_request__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


# The document ------------------------------------------------------------------


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF + model.__name__}


def register(
    schemas: dict[str, Any], *models: type[BaseModel], mode: JsonSchemaMode = "serialization"
) -> None:
    """Put models in the document's components as pydantic makes them
    (flask-openapi3 converts them to its own schema model, which drops
    ``examples`` and makes every bound a float)."""
    for model in models:
        schema = get_model_schema(model, mode=mode)
        for name, value in schema.pop("$defs", {}).items():
            schemas[name] = value
        schemas[model.__name__] = schema


def header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema}


def response(
    description: str,
    schema: dict[str, Any],
    example: Any = None,  # noqa: ANN401
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    answer: dict[str, Any] = {"description": description, "content": {"application/json": content}}
    if headers:
        answer["headers"] = headers
    return answer


def operation_id(*, name: str, path: str, method: str) -> str:
    """The view's name: ``list_kudos``, ``create_kudos``, …"""
    return name


BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _whole_bounds(node: Any) -> Any:  # noqa: ANN401
    """Bounds as written (flask-openapi3's schema model makes 1 into 1.0)."""
    if isinstance(node, dict):
        return {
            key: int(value)
            if key in BOUNDS and isinstance(value, float) and value.is_integer()
            else _whole_bounds(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_whole_bounds(item) for item in node]
    return node


def document(
    paths: dict[str, Any],
    schemas: dict[str, Any],
    *,
    prefix: str,
    server: str,
    info: Info,
    tags: list[Tag],
    security_schemes: dict[str, Any],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the operations flask-openapi3 collected,
    with paths relative to the server (``/kudos``, served under ``prefix``)."""
    spec = APISpec(
        openapi="3.1.0",
        info=info,
        servers=[Server(url=server)],
        tags=tags,
        security=[{name: []} for name in security_schemes],
        paths={path.removeprefix(prefix) or "/": item for path, item in paths.items()},
        components=Components(securitySchemes=security_schemes),
    )
    answer = spec.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)
    answer["components"]["schemas"] = schemas
    return _whole_bounds(answer)
