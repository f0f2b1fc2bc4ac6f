"""The API reference at /api/v1/docs, rendered on the server from the OpenAPI document."""

from __future__ import annotations

import json
import re
import threading
from html.parser import HTMLParser

import pytest

from kudos.api import reference
from kudos.api.reference import Part, describe, schema_anchor
from kudos.security import CONTENT_SECURITY_POLICY
from kudos.urls import base_url
from tests.conftest import sign_in

URL = "/api/v1/docs"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Page(HTMLParser):
    """The text under each element with an id, the links, every attribute, the scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []  # (tag, id)
        self.text: dict[str, str] = {}
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.attributes: list[tuple[str, str, str | None]] = []  # (tag, name, value)
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.feed(html)
        self.text = {key: " ".join(value.split()) for key, value in self.text.items()}
        self.links = [(href, " ".join(text.split())) for href, text in self.links]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append((attributes["href"], ""))
        if tag == "script":
            self.scripts.append("")
        if tag not in VOID:
            self.open.append((tag, attributes.get("id")))
            if attributes.get("id"):
                self.text.setdefault(attributes["id"], "")

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for tag, element_id in self.open:
            if element_id:
                self.text[element_id] += data
            if tag == "a" and self.links:
                href, text = self.links[-1]
                self.links[-1] = (href, text + data)
            if tag == "script":
                self.scripts[-1] += data


def document(app) -> dict:
    with app.test_request_context():
        return reference.openapi_document()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def serve(monkeypatch: pytest.MonkeyPatch, doc: dict) -> None:
    monkeypatch.setattr(reference, "openapi_document", lambda: doc)


def test_the_reference_is_a_public_html_page_like_the_document(client):
    page = client.get(URL)
    raw = client.get("/api/v1/openapi.json")

    assert (page.status_code, page.mimetype) == (200, "text/html")
    assert (raw.status_code, raw.mimetype) == (200, "application/json")
    assert "/login" not in page.headers.get("Location", "")


@pytest.mark.parametrize("new", [False, True])
def test_a_signed_in_person_sees_it_too(client, make, new):
    """Someone new, not yet through onboarding, too: a developer reading the
    reference is not sent to choose how they like to be thanked first."""
    sign_in(client, make.person(new=new))

    assert client.get(URL).status_code == 200


def test_every_operation_and_schema_of_the_document_is_on_the_page(app, client):
    doc = document(app)
    page = Page(client.get(URL).get_data(as_text=True))

    for method, path, operation in operations(doc):
        title = f"{method.upper()} {path}"
        hrefs = [href for href, text in page.links if text == title]
        assert len(hrefs) == 1, f"no single link to {title} in the contents"
        section = page.text.get(hrefs[0].removeprefix("#"), "")
        assert hrefs[0].startswith("#")
        assert title in section
        assert operation["summary"] in section
        assert operation["summary"] in page.text["endpoints"]  # beside its link
    for name in doc["components"]["schemas"]:
        assert page.text[schema_anchor(name)].startswith(name)


def test_every_link_within_the_page_leads_somewhere(client):
    """The types in the field tables link to their schemas (array of Kudos)."""
    page = Page(client.get(URL).get_data(as_text=True))
    inner = [href.removeprefix("#") for href, _ in page.links if href.startswith("#")]

    assert schema_anchor("Kudos") in inner
    assert [anchor for anchor in inner if anchor not in page.text] == []


def test_it_links_to_the_tokens_page_and_the_raw_document(client):
    links = [href for href, _ in Page(client.get(URL).get_data(as_text=True)).links]

    assert "/settings/tokens/" in links
    assert "/api/v1/openapi.json" in links


def test_the_tokens_page_links_to_the_reference(browser, signed_in):
    links = [
        href for href, _ in Page(browser.get("/settings/tokens/").get_data(as_text=True)).links
    ]

    assert "/api/v1/docs" in links
    assert "/api/v1/openapi.json" in links


def test_the_page_keeps_the_sites_strict_policy(app, client):
    """Nothing the Content-Security-Policy would block, and no address elsewhere."""
    response = client.get(URL)
    html = response.get_data(as_text=True)
    page = Page(html)
    with app.test_request_context():
        own = base_url()
    shown = json.dumps(document(app), ensure_ascii=False)

    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "style" not in page.tags
    assert [
        name for _, name, _ in page.attributes if name == "style" or name.startswith("on")
    ] == []
    assert [body for body in page.scripts if body.strip()] == []
    assert all(
        value and value.startswith("/") for tag, name, value in page.attributes if name == "src"
    )
    for tag, name, value in page.attributes:
        if name in ("href", "src", "action") and value and "://" in value:
            assert value.startswith(own + "/"), (tag, name, value)
    for address in re.findall(r"https?://[^\s\"'<>&]+", html):
        # The site's own, or an example's (text quoted from the document).
        assert address.startswith(own) or address in shown, address


def test_what_the_document_says_is_escaped(client, monkeypatch):
    evil = "<script>alert(1)</script>"
    serve(
        monkeypatch,
        {
            "openapi": "3.1.0",
            "info": {"title": evil, "version": evil, "description": f"Hi {evil} `{evil}`"},
            "servers": [{"url": f"/api/v1{evil}"}],
            "paths": {
                f"/x/{{{evil}}}": {
                    "post": {
                        "summary": evil,
                        "description": evil,
                        "operationId": evil,
                        "tags": [evil],
                        "parameters": [{"name": evil, "in": "query", "description": evil}],
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{evil}"},
                                    "examples": {evil: {"summary": evil, "value": {evil: evil}}},
                                }
                            }
                        },
                        "responses": {
                            evil: {
                                "description": evil,
                                "headers": {evil: {"description": evil}},
                            }
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    evil: {
                        "description": evil,
                        "properties": {evil: {"enum": [evil], "default": evil}},
                    }
                },
                "securitySchemes": {evil: {"type": "apiKey", "name": evil, "description": evil}},
            },
        },
    )

    html = client.get(URL).get_data(as_text=True)

    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert [body for body in Page(html).scripts if body.strip()] == []


def test_cycles_of_references_and_a_malformed_document_do_not_break_it(client, monkeypatch):
    looped: dict = {"type": "object", "properties": {}}
    looped["properties"]["self"] = looped  # a cycle of inline schemas, as a dict can hold
    doc = {
        "openapi": "3.1.0",
        "info": "not an object",
        "paths": {
            "/a": {
                "parameters": [{"$ref": "#/components/parameters/Loop"}, "junk"],
                "get": {
                    "summary": "Loops everywhere",
                    "parameters": [{"$ref": "#/nowhere/at/all"}, {"$ref": "https://x.test/p"}],
                    "requestBody": {"$ref": "#/components/requestBodies/Loop"},
                    "responses": {
                        "200": {"$ref": "#/components/responses/Loop"},
                        "201": {"content": {"application/json": {"schema": looped}}},
                        404: {"content": "junk", "headers": ["junk"]},
                    },
                },
                "post": "junk",
                "put": {"responses": ["junk"], "parameters": "junk", "tags": "junk"},
            },
            "/b": None,
        },
        "components": {
            "schemas": {
                "A": {"$ref": "#/components/schemas/B"},
                "B": {"$ref": "#/components/schemas/A"},
                "Tree": {
                    "type": "object",
                    "allOf": [{"$ref": "#/components/schemas/Tree"}],
                    "properties": {
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Tree"},
                        },
                        "next": {"$ref": "#/components/schemas/Tree/properties/next"},
                        "odd": {"anyOf": [{"$ref": "#/components/schemas/Tree"}, {"type": "null"}]},
                    },
                },
                "Lists": {"$ref": "#/$defs/List"},  # a cycle outside the components
                "Junk": True,
                "More": [1, 2],
            },
            "parameters": {"Loop": {"$ref": "#/components/parameters/Loop"}},
            "requestBodies": {"Loop": {"$ref": "#/components/requestBodies/Loop"}},
            "responses": {"Loop": {"$ref": "#/components/responses/Loop"}},
            "securitySchemes": "junk",
        },
        "$defs": {"List": {"type": "array", "items": {"$ref": "#/$defs/List"}}},
    }
    # Made in a thread first: a loop that never ends fails here instead of hanging.
    done = threading.Thread(target=reference.reference_page, args=(doc,), daemon=True)
    done.start()
    done.join(timeout=10)
    assert not done.is_alive(), "following the references never ends"
    serve(monkeypatch, doc)

    response = client.get(URL)
    page = Page(response.get_data(as_text=True))

    assert response.status_code == 200
    assert "Loops everywhere" in page.text["endpoints"]
    for name in ("A", "B", "Tree", "Lists", "Junk", "More"):
        assert page.text[schema_anchor(name)].startswith(name)
    assert "children" in page.text[schema_anchor("Tree")]
    assert "array of array of array of" in page.text[schema_anchor("Lists")]


RICH = {
    "openapi": "3.1.0",
    "info": {"title": "Rich API", "version": "2", "description": "All of it."},
    "servers": [{"url": "http://localhost/api/v1"}],
    "security": [{"bearer": []}],
    "tags": [{"name": "Things", "description": "Everything about things."}],
    "paths": {
        "/things/{thing_id}": {
            "parameters": [
                {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "put": {
                "tags": ["Things"],
                "summary": "Change a thing",
                "description": "Changes it, `all at once`.",
                "operationId": "put_thing",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "How many",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 7},
                        "example": 12,
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ThingUpdate"},
                            "examples": {
                                "small": {"summary": "A small one", "value": {"size": 1}},
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The thing",
                        "headers": {
                            "Retry-After": {
                                "description": "Seconds to wait",
                                "schema": {"type": "integer"},
                            }
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Thing"},
                                "example": {"id": 3, "size": 1},
                            }
                        },
                    }
                },
            },
        },
        "/health": {"get": {"summary": "Are you there", "security": [], "responses": {}}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "owner": {
                        "type": "object",
                        "properties": {"email": {"type": "string", "format": "email"}},
                    },
                },
            },
            "BigThing": {
                "allOf": [{"$ref": "#/components/schemas/Thing"}],
                "properties": {"weight": {"type": "number", "exclusiveMinimum": 0}},
            },
            "ThingUpdate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "minimum": 1, "description": "How big"},
                    "label": {
                        "anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}],
                        "default": None,
                    },
                    "kind": {"type": "string", "enum": ["public", "team", "private"]},
                    "code": {"type": "string", "pattern": "^[a-z]+$"},
                },
            },
        },
    },
}


def test_what_an_operation_says_is_all_shown(client, monkeypatch):
    serve(monkeypatch, RICH)

    page = Page(client.get(URL).get_data(as_text=True))
    put = page.text["op-put_thing"]
    html = client.get(URL).get_data(as_text=True)

    assert "Things Everything about things." in " ".join(page.text.values())
    assert "PUT /things/{thing_id}" in put
    assert "Changes it, all at once." in put
    assert "thing_id path required integer" in put  # the path's own parameter
    assert "limit query optional integer from 1 to 50 How many default 7 example 12" in put
    # The request body: its schema's fields, with their types and constraints.
    assert "size required integer ≥ 1 How big" in put
    assert "label optional string | null at most 40 characters default null" in put
    assert "kind optional public | team | private" in put
    assert "code optional string matches ^[a-z]+$" in put
    assert "No other fields are accepted." in put
    assert "Example request: small — A small one" in put
    assert '<pre tabindex="0"><code>{\n  &#34;size&#34;: 1\n}</code></pre>' in html
    # The answer: status, headers, a link to its schema, its example.
    assert "200 OK The thing" in put
    assert "Retry-After integer Seconds to wait" in put
    assert ("#" + schema_anchor("Thing"), "Thing") in page.links
    assert "&#34;id&#34;: 3" in html
    # The schemas, nested objects under their field.
    thing = page.text[schema_anchor("Thing")]
    assert "id required read-only integer" in thing
    assert "owner.email optional string (email)" in thing
    big = page.text[schema_anchor("BigThing")]  # a schema extending another
    assert "id required read-only integer" in big
    assert "weight optional number > 0" in big
    assert "No authentication needed." in page.text["op-get-health"]


@pytest.mark.parametrize(
    ("schema", "words", "links"),
    [
        ({"type": "string"}, "string", []),
        ({"type": "integer", "minimum": 1}, "integer ≥ 1", []),
        ({"type": ["string", "null"]}, "string | null", []),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null", []),
        (
            {"type": "array", "items": {"$ref": "#/components/schemas/Kudos"}},
            "array of Kudos",
            ["#schema-Kudos"],
        ),
        (
            {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}]},
            "one of: integer, string (email)",
            [],
        ),
        ({"type": "string", "enum": ["public", "team", "private"]}, "public | team | private", []),
        ({"type": ["array", "null"], "items": {"type": "string"}}, "(array of string) | null", []),
        ({"$ref": "#/components/schemas/Missing"}, "#/components/schemas/Missing", []),
        ({}, "any", []),
    ],
)
def test_types_read_as_words(schema, words, links):
    doc = {"components": {"schemas": {"Kudos": {"type": "object"}}}}

    parts = describe(doc, schema)

    assert "".join(part.text for part in parts) == words
    assert [part.href for part in parts if part.href] == links
    assert all(isinstance(part, Part) for part in parts)
