"""The API reference at /api/v1/docs: the OpenAPI document, rendered as a page.

Rendered on the server from the document itself, nothing written per
endpoint: the Content-Security-Policy allows no inline style, no inline
script and no CDN (so no Swagger UI), and every page works without
JavaScript. Public, like the document.

The helpers below turn the document into plain rows for the template and
never trust its shape: a missing key, a value of the wrong type, a ``$ref``
to nowhere or a cycle of ``$ref``s renders as what is known, never as an
error. Text from the document goes to the template as text (autoescaped);
only inline code spans (between backticks) become markup, in the template.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, render_template

from kudos.api.document import openapi_document
from kudos.auth.access import login_exempt

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMAS = "#/components/schemas/"
# How deep nested fields and types are followed (and where a cycle of
# inline schemas, possible in a Python dict, stops).
MAX_DEPTH = 6


@bp.get("/docs")
@login_exempt
def reference() -> str:
    return render_template("api/reference.html", ref=reference_page(openapi_document()))


# What the template gets -------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A piece of a type description; ``href`` links it to a schema."""

    text: str
    href: str | None = None


# A paragraph is a list of (text, is_code) spans.
Prose = list[list[tuple[str, bool]]]


@dataclass(frozen=True)
class Constraint:
    text: str
    code: str | None = None


@dataclass(frozen=True)
class Row:
    """A field of a schema, or a parameter or a header."""

    name: str
    parent: str  # "error." for a field nested in another, "" at the top
    depth: int
    type: list[Part]
    required: bool
    read_only: bool
    write_only: bool
    deprecated: bool
    constraints: list[Constraint]
    description: Prose
    where: str = ""  # a parameter's "query", "header", "path" or "cookie"


@dataclass(frozen=True)
class Example:
    name: str
    summary: str
    json: str


@dataclass(frozen=True)
class Body:
    """A request or response body in one media type."""

    media_type: str
    type: list[Part]
    fields: list[Row]
    closed: bool  # additionalProperties: false, no other field accepted
    examples: list[Example]


@dataclass(frozen=True)
class Response:
    status: str
    phrase: str
    kind: str  # ok, redirect, error or other: the badge's colour
    description: Prose
    headers: list[Row]
    bodies: list[Body]


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    path_parts: list[str]  # odd items are the {parameters}
    tag: str  # its first tag, "" for none
    summary: str
    description: Prose
    deprecated: bool
    access: str  # how this operation authenticates, when not like the others
    parameters: list[Row]
    body_description: Prose
    body_required: bool
    bodies: list[Body]
    responses: list[Response]


@dataclass(frozen=True)
class Group:
    """Operations under one tag (or none, when the document has no tags)."""

    name: str
    description: Prose
    operations: list[Operation]


@dataclass(frozen=True)
class Scheme:
    name: str
    how: Prose
    description: Prose


@dataclass(frozen=True)
class Schema:
    name: str
    anchor: str
    type: list[Part]
    description: Prose
    fields: list[Row]
    closed: bool
    examples: list[Example]


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    openapi: str
    description: Prose
    servers: list[str]
    schemes: list[Scheme]
    groups: list[Group]
    schemas: list[Schema]


def reference_page(doc: Any) -> Reference:
    doc = _dict(doc)
    info = _dict(doc.get("info"))
    servers = [_text(_dict(server).get("url")) for server in _list(doc.get("servers"))]
    components = _dict(doc.get("components"))
    return Reference(
        title=_text(info.get("title")),
        version=_text(info.get("version")),
        openapi=_text(doc.get("openapi")),
        description=prose(info.get("description")),
        servers=[url for url in servers if url],
        schemes=[
            _scheme(name, resolve(doc, scheme))
            for name, scheme in _dict(components.get("securitySchemes")).items()
        ],
        groups=_groups(doc, _operations(doc)),
        schemas=[
            _schema(doc, str(name), schema)
            for name, schema in _dict(components.get("schemas")).items()
        ],
    )


# Reading the document defensively ---------------------------------------------


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int | float) else ""


def _pointer(doc: dict, ref: str) -> Any:
    """The value a local JSON pointer (``#/components/schemas/Kudos``) names, or None."""
    if not ref.startswith("#"):
        return None  # another file or an address: never fetched
    node: Any = doc
    for token in unquote(ref[1:]).split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def resolve(doc: dict, node: Any) -> dict:
    """``node`` with its ``$ref``s followed; keys beside a ``$ref`` win (OpenAPI
    3.1 lets a reference override a summary or a description). A reference
    to nowhere, or a cycle of references, gives what is known: {}."""
    seen: set[str] = set()
    siblings: dict = {}
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            return siblings
        seen.add(ref)
        siblings = {**{k: v for k, v in node.items() if k != "$ref"}, **siblings}
        node = _pointer(doc, ref)
    return {**_dict(node), **siblings}


def schema_anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _component_name(doc: dict, ref: str) -> str | None:
    """``Kudos`` for ``#/components/schemas/Kudos`` when that schema exists."""
    if not ref.startswith(SCHEMAS):
        return None
    name = unquote(ref[len(SCHEMAS) :]).replace("~1", "/").replace("~0", "~")
    schemas = _dict(_dict(doc.get("components")).get("schemas"))
    return name if "/" not in ref[len(SCHEMAS) :] and name in schemas else None


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _unwrap(schema: Any) -> tuple[dict, bool]:
    """The one schema inside ``anyOf: [X, {"type": "null"}]`` or ``allOf: [X]``
    (pydantic's nullable and described fields), with the outer keys
    (description, default) kept; and whether null is allowed."""
    schema = _dict(schema)
    nullable = False
    for _ in range(MAX_DEPTH):
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            nullable = True
        for key in ("anyOf", "oneOf", "allOf"):
            variants = _list(schema.get(key))
            others = [v for v in variants if not _is_null(v)]
            if key == "allOf" and "properties" in schema:
                continue  # a schema extending another: _properties merges them
            if len(others) == 1 and isinstance(others[0], dict):
                nullable = nullable or len(others) < len(variants)
                outer = {k: v for k, v in schema.items() if k != key}
                schema = {**others[0], **outer}
                break
        else:
            return schema, nullable
    return schema, nullable


def _target(doc: dict, schema: Any) -> dict:
    """The schema that ``schema`` stands for, its references followed and
    its nullable or one-member wrappers taken off (a request body's
    ``$ref``, a parameter's ``anyOf: [X, null]``)."""
    for _ in range(MAX_DEPTH):
        schema = _unwrap(resolve(doc, schema))[0]
        if not isinstance(schema.get("$ref"), str):
            break
    return schema


# Types, in words ----------------------------------------------------------------


def _literal(value: Any) -> str:
    """An enum value as it reads in a type: public, 20, true, null."""
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, ensure_ascii=False, default=str)


def _number(value: Any) -> str:
    return _literal(value) if isinstance(value, int | float) else "?"


def _join(descriptions: list[list[Part]], separator: str) -> list[Part]:
    parts: list[Part] = []
    for index, description in enumerate(descriptions):
        if index:
            parts.append(Part(separator))
        parts.extend(description)
    return parts


def _grouped(parts: list[Part]) -> list[Part]:
    """In parentheses when it has alternatives: array of (public | team)."""
    text = "".join(part.text for part in parts)
    return [Part("("), *parts, Part(")")] if " | " in text or ": " in text else parts


def describe(doc: dict, schema: Any, depth: int = 0) -> list[Part]:
    """``integer ≥ 1``, ``string | null``, ``array of Kudos`` (linked),
    ``one of: integer, string (email)``, ``public | team | private``."""
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return [Part("any")]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if name := _component_name(doc, ref):
            return [Part(name, "#" + schema_anchor(name))]
        target = resolve(doc, {"$ref": ref})
        return describe(doc, target, depth + 1) if target else [Part(ref)]
    for key, words in (("oneOf", "one of: "), ("anyOf", "one of: "), ("allOf", "all of: ")):
        variants = _list(schema.get(key))
        if not variants:
            continue
        others = [variant for variant in variants if not _is_null(variant)]
        nullable = len(others) < len(variants)
        if len(others) == 1:
            return _or_null(describe(doc, others[0], depth + 1), nullable)
        alternatives = [describe(doc, variant, depth + 1) for variant in others]
        return [Part(words), *_join(alternatives, ", "), *([Part(", null")] if nullable else [])]
    if "const" in schema:
        return [Part(_literal(schema["const"]))]
    if _list(schema.get("enum")):
        return [Part(" | ".join(_literal(value) for value in schema["enum"]))]
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    elif isinstance(types, list):
        types = [t for t in types if isinstance(t, str)]
    elif "properties" in schema or "additionalProperties" in schema:
        types = ["object"]
    elif "items" in schema:
        types = ["array"]
    else:
        types = []
    nullable = "null" in types
    named = [_one_type(doc, schema, t, depth) for t in types if t != "null"]
    if not named:
        return [Part("null" if nullable else "any")]
    return _or_null(_join(named, " | "), nullable)


def _or_null(parts: list[Part], nullable: bool) -> list[Part]:
    """``string | null``; ``(array of string) | null``, not array of (string | null)."""
    if not nullable:
        return parts
    text = "".join(part.text for part in parts)
    if any(words in text for words in (" of ", " from ", " with ")):
        parts = [Part("("), *parts, Part(")")]
    return [*parts, Part(" | null")]


def _one_type(doc: dict, schema: dict, name: str, depth: int) -> list[Part]:
    if name == "array":
        items = schema.get("items")
        if isinstance(items, dict):
            return [Part("array of "), *_grouped(describe(doc, items, depth + 1))]
        return [Part("array")]
    if name == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values and not schema.get("properties"):
            return [
                Part("object with "),
                *_grouped(describe(doc, values, depth + 1)),
                Part(" values"),
            ]
        return [Part("object")]
    text = name
    if isinstance(schema.get("format"), str):
        text += f" ({schema['format']})"
    if name in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            text += f" from {_number(low)} to {_number(high)}"
        elif low is not None:
            text += f" ≥ {_number(low)}"
        elif high is not None:
            text += f" ≤ {_number(high)}"
        if schema.get("exclusiveMinimum") is not None:
            text += f" > {_number(schema['exclusiveMinimum'])}"
        if schema.get("exclusiveMaximum") is not None:
            text += f" < {_number(schema['exclusiveMaximum'])}"
    return [Part(text)]


def _range(low: Any, high: Any, unit: str) -> str | None:
    """ "1 to 128 characters", "at most 3 items", "exactly 6 items"."""
    if low is None and high is None:
        return None
    plural = f"{unit}s"
    if low is not None and low == high:
        return f"exactly {_number(low)} {unit if low == 1 else plural}"
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)} {plural}"
    if high is not None:
        return f"at most {_number(high)} {unit if high == 1 else plural}"
    return f"at least {_number(low)} {unit if low == 1 else plural}"


def constraints(schema: dict) -> list[Constraint]:
    """What the type does not say: default, lengths, counts, pattern, examples."""
    found = [
        Constraint(text)
        for text in (
            _range(schema.get("minLength"), schema.get("maxLength"), "character"),
            _range(schema.get("minItems"), schema.get("maxItems"), "item"),
            _range(schema.get("minProperties"), schema.get("maxProperties"), "field"),
        )
        if text
    ]
    if schema.get("uniqueItems") is True:
        found.append(Constraint("no duplicates"))
    if isinstance(schema.get("multipleOf"), int | float):
        found.append(Constraint(f"a multiple of {_number(schema['multipleOf'])}"))
    if isinstance(schema.get("pattern"), str):
        found.append(Constraint("matches", schema["pattern"]))
    if "default" in schema:
        found.append(Constraint("default", _json(schema["default"], indent=None)))
    for example in _list(schema.get("examples"))[:3]:
        found.append(Constraint("example", _json(example, indent=None)))
    if "example" in schema:
        found.append(Constraint("example", _json(schema["example"], indent=None)))
    return found


# Fields ---------------------------------------------------------------------------


def _properties(doc: dict, schema: dict) -> tuple[dict, set[str]]:
    """An object's properties and required names, allOf members merged in."""
    properties: dict = {}
    required: set[str] = set()
    for part in [schema, *(resolve(doc, member) for member in _list(schema.get("allOf")))]:
        properties.update(_dict(part.get("properties")))
        required.update(name for name in _list(part.get("required")) if isinstance(name, str))
    return properties, required


def _nested(doc: dict, schema: dict) -> tuple[dict | None, str]:
    """The inline object whose fields go under a field (an object's own, or
    its array's items'), with how their names start; None for a $ref, which
    is linked instead."""
    for _ in range(MAX_DEPTH):
        if isinstance(schema.get("$ref"), str):
            return None, ""
        if _properties(doc, schema)[0]:
            return schema, "."
        items = schema.get("items")
        if not isinstance(items, dict):
            return None, ""
        schema, _ = _unwrap(items)
        if _properties(doc, schema)[0] and not isinstance(schema.get("$ref"), str):
            return schema, "[]."
    return None, ""


def fields(doc: dict, schema: Any, parent: str = "", depth: int = 0) -> list[Row]:
    """The rows of an object's field table, with inline objects (and arrays
    of them) as nested rows; a field that is a $ref links to its schema."""
    if depth > MAX_DEPTH:
        return []
    schema = _target(doc, schema) if depth == 0 else _dict(schema)
    properties, required = _properties(doc, schema)
    rows = []
    for name, raw in properties.items():
        field, _ = _unwrap(raw)
        rows.append(_row(doc, str(name), raw, field, str(name) in required, parent, depth))
        inner, joint = _nested(doc, field)
        if inner is not None:
            rows.extend(fields(doc, inner, f"{parent}{name}{joint}", depth + 1))
    return rows


def _row(
    doc: dict,
    name: str,
    raw: Any,
    schema: dict,
    required: bool,
    parent: str = "",
    depth: int = 0,
    *,
    description: Any = None,
    where: str = "",
) -> Row:
    return Row(
        name=name,
        parent=parent,
        depth=depth,
        type=describe(doc, raw),
        required=required,
        read_only=schema.get("readOnly") is True,
        write_only=schema.get("writeOnly") is True,
        deprecated=schema.get("deprecated") is True,
        constraints=constraints(schema),
        description=prose(description if description is not None else schema.get("description")),
        where=where,
    )


# Operations ---------------------------------------------------------------------


def _json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def examples(doc: dict, holder: dict) -> list[Example]:
    """``example``, or the named ``examples`` (``{name: {summary, value}}``).
    An ``externalValue`` is an address elsewhere: never fetched nor shown."""
    found = [Example("", "", _json(holder["example"]))] if "example" in holder else []
    named = holder.get("examples")
    if isinstance(named, dict):
        for name, example in named.items():
            example = resolve(doc, example)
            if "value" in example:
                summary = _text(example.get("summary"))
                found.append(Example(str(name), summary, _json(example["value"])))
    else:
        found += [Example("", "", _json(value)) for value in _list(named)]
    return found


def _bodies(doc: dict, content: Any, expand: bool) -> list[Body]:
    """One per media type. A component schema is linked, and its fields
    listed too when ``expand`` (a request body: what to send is the point)."""
    bodies = []
    for media_type, media in _dict(content).items():
        media = _dict(media)
        raw = media.get("schema")
        linked = isinstance(_dict(raw).get("$ref"), str)
        schema = _target(doc, raw)
        rows = fields(doc, raw) if expand or not linked else []
        bodies.append(
            Body(
                media_type=str(media_type),
                type=describe(doc, raw) if isinstance(raw, dict) else [],
                fields=rows,
                closed=bool(rows) and schema.get("additionalProperties") is False,
                examples=examples(doc, media),
            )
        )
    return bodies


def _status(code: str) -> tuple[str, str]:
    if code.isdigit():
        try:
            phrase = HTTPStatus(int(code)).phrase
        except ValueError:
            phrase = ""
    else:
        phrase = "Any other status" if code == "default" else ""
    kind = {"2": "ok", "3": "redirect", "4": "error", "5": "error"}.get(code[:1], "other")
    return phrase, kind


def _responses(doc: dict, responses: Any) -> list[Response]:
    def order(item: tuple[str, Any]) -> tuple[int, str]:
        code = item[0]
        return (0 if code.isdigit() else 2 if code == "default" else 1, code)

    found = []
    for code, response in sorted(((str(c), r) for c, r in _dict(responses).items()), key=order):
        response = resolve(doc, response)
        phrase, kind = _status(code)
        description = response.get("description")  # often just the phrase again
        found.append(
            Response(
                status=code,
                phrase=phrase,
                kind=kind,
                description=[] if description == phrase else prose(description),
                headers=[
                    _header(doc, str(name), header)
                    for name, header in _dict(response.get("headers")).items()
                ],
                bodies=_bodies(doc, response.get("content"), expand=False),
            )
        )
    return found


def _header(doc: dict, name: str, header: Any) -> Row:
    header = resolve(doc, header)
    raw = header.get("schema")
    return _row(
        doc,
        name,
        raw,
        _target(doc, raw),
        header.get("required") is True,
        description=header.get("description"),
    )


def _parameters(doc: dict, shared: Any, own: Any) -> list[Row]:
    """The path's parameters, then the operation's (which win on the same name and place)."""
    by_key: dict[tuple[str, str], dict] = {}
    for parameter in [*_list(shared), *_list(own)]:
        parameter = resolve(doc, parameter)
        key = (_text(parameter.get("name")), _text(parameter.get("in")))
        if key[0]:
            by_key[key] = parameter
    rows = []
    for (name, where), parameter in by_key.items():
        raw = parameter.get("schema")
        row = _row(
            doc,
            name,
            raw,
            _target(doc, raw),
            parameter.get("required") is True or where == "path",
            description=parameter.get("description"),
            where=where,
        )
        shown = [
            Constraint(f"example {e.name}".strip(), e.json.replace("\n", " "))
            for e in examples(doc, parameter)
        ]
        shown = [constraint for constraint in shown if constraint not in row.constraints]
        rows.append(replace(row, constraints=row.constraints + shown))
    return rows


def _access(doc: dict, operation: dict) -> str:
    """Said only when an operation authenticates unlike the document's default."""
    own = operation.get("security")
    if not isinstance(own, list):
        return ""
    if own == [] or {} in own:
        return "No authentication needed."
    names = sorted({str(name) for item in own for name in _dict(item)})
    default = sorted({str(name) for item in _list(doc.get("security")) for name in _dict(item)})
    return "" if names == default else "Authentication: " + ", ".join(names) + "."


def _operations(doc: dict) -> list[Operation]:
    found = []
    anchors: set[str] = set()
    for path, item in _dict(doc.get("paths")).items():
        item = resolve(doc, item)
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            anchor = _anchor(_text(operation.get("operationId")) or f"{method} {path}", anchors)
            body = resolve(doc, operation.get("requestBody"))
            found.append(
                Operation(
                    anchor=anchor,
                    method=method,
                    path=str(path),
                    path_parts=re.split(r"(\{[^}]*\})", str(path)),
                    tag=next((_text(tag) for tag in _list(operation.get("tags"))), ""),
                    summary=_text(operation.get("summary")),
                    description=prose(operation.get("description")),
                    deprecated=operation.get("deprecated") is True,
                    access=_access(doc, operation),
                    parameters=_parameters(
                        doc, item.get("parameters"), operation.get("parameters")
                    ),
                    body_description=prose(body.get("description")),
                    body_required=body.get("required") is True,
                    bodies=_bodies(doc, body.get("content"), expand=True),
                    responses=_responses(doc, operation.get("responses")),
                )
            )
    return found


def _groups(doc: dict, operations: list[Operation]) -> list[Group]:
    """By first tag, in the order of the document's ``tags`` and then of
    first use; the untagged last ("Other", or no name when nothing is tagged)."""
    described = {_text(tag.get("name")): tag for tag in map(_dict, _list(doc.get("tags")))}
    used = [op.tag for op in operations]
    names = [name for name in dict.fromkeys([*described, *used]) if name and name in used]
    groups = [
        Group(
            name,
            prose(_dict(described.get(name)).get("description")),
            [op for op in operations if op.tag == name],
        )
        for name in names
    ]
    untagged = [op for op in operations if not op.tag]
    if untagged:
        groups.append(Group("Other" if groups else "", [], untagged))
    return groups


def _anchor(base: str, taken: set[str]) -> str:
    anchor = "op-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-") or "operation")
    unique, number = anchor, 1
    while unique in taken:
        number += 1
        unique = f"{anchor}-{number}"
    taken.add(unique)
    return unique


def _scheme(name: str, scheme: dict) -> Scheme:
    kind, where = _text(scheme.get("type")), _text(scheme.get("in"))
    if kind == "http" and _text(scheme.get("scheme")).lower() == "bearer":
        how = "A bearer token: send `Authorization: Bearer <token>` with each request."
    elif kind == "http":
        how = f"HTTP `{_text(scheme.get('scheme')) or 'authentication'}`."
    elif kind == "apiKey":
        how = f"A key in the `{_text(scheme.get('name'))}` {where or 'header'}."
    else:
        how = f"`{kind or 'unknown'}`."  # oauth2, openIdConnect: their addresses are not shown
    return Scheme(name=name, how=prose(how), description=prose(scheme.get("description")))


def _schema(doc: dict, name: str, raw: Any) -> Schema:
    schema = _target(doc, raw)
    rows = fields(doc, raw)
    type_ = describe(doc, raw)
    return Schema(
        name=name,
        anchor=schema_anchor(name),
        type=[] if rows and [part.text for part in type_] == ["object"] else type_,
        description=prose(schema.get("description")),
        fields=rows,
        closed=bool(rows) and schema.get("additionalProperties") is False,
        examples=examples(doc, schema),
    )


def prose(text: Any) -> Prose:
    """Paragraphs (a blank line apart) of spans; `code` is the only markup read."""
    if not isinstance(text, str):
        return []
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        pieces = re.split(r"`([^`]+)`", " ".join(paragraph.split()))
        spans = [(piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece]
        if spans:
            paragraphs.append(spans)
    return paragraphs
