"""Browser tests: headless Chromium (Playwright) against a real Kudos server.

One Kudos server per test session, on a free port on 127.0.0.1 in a
background thread, over its own database (the rolled-back transaction of the
other tests cannot be shared with a threaded server): a temporary SQLite
file, or a separate database on the PostgreSQL server of the run. Each test
starts from empty tables (the default values stay) and signs people in
through the real OpenID provider the sign-in tests use.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/test``);
Playwright never downloads a browser. axe-core comes from the npm registry
(``devtools/axe``) and is injected into the pages under test.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic import command as alembic_command
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from kudos import create_app
from kudos.db import Base, make_engine, utcnow
from kudos.migrate import alembic_config
from kudos.preferences.services import PreferenceChoices, save_preferences
from tests import factories
from tests.conftest import TEST_SECRET_KEY
from tests.oidc_provider import Provider, running_provider

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("KUDOS_CHROMIUM", "/usr/bin/chromium"))
# Headless, as root, and quiet: without the background-networking flags
# Chromium keeps calling home on a machine that has no way out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
AXE_JS = ROOT / "devtools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
E2E_DATABASE = "kudos_e2e"

DESKTOP = {"width": 1200, "height": 800}
PHONE = {"width": 390, "height": 844}
# Tables the tests keep between tests: the default values come with the schema.
KEPT_TABLES = {"value"}


# The database and the server ------------------------------------------------


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("KUDOS_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'kudos-e2e.sqlite3'}"
        return
    # A database of its own on the same server, next to the one the other
    # tests use (they drop and recreate its schema).
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {E2E_DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {E2E_DATABASE}"))
    try:
        yield make_url(url).set(database=E2E_DATABASE).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {E2E_DATABASE} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def e2e_engine(e2e_database_url: str) -> Iterator[Engine]:
    engine = make_engine(e2e_database_url)
    with engine.begin() as connection:
        alembic_command.upgrade(alembic_config(connection=connection), "head")
    yield engine
    engine.dispose()


def not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class _ClosingBody:
    """A response body that is closed even when nobody asks it to be."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()

    __del__ = close


def closing_responses(app: WSGIApplication) -> WSGIApplication:
    """Close every response body, also when the browser hangs up mid-way.

    Werkzeug's development server forgets to close the body of a response
    whose connection dropped (a page left while its logo was still loading),
    so the static file's handle would be left to the garbage collector and
    fail the run with a ResourceWarning.
    """

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return _ClosingBody(app(environ, start_response))

    return wsgi


@dataclass
class LiveServer:
    base: str
    app: Flask
    provider: Provider
    engine: Engine
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def add_login(self, login: str, claims: dict[str, Any]) -> None:
        """A person who can sign in at the provider as ``login``."""
        self.users[login] = claims
        self.provider.set_users(self.users)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str, e2e_engine: Engine
) -> Iterator[LiveServer]:
    # Bind first (port 0: the system picks a free one), so that the provider
    # started next cannot take the same port; the app is plugged in after.
    server: BaseWSGIServer = make_server("127.0.0.1", 0, not_ready, threaded=True)
    base = f"http://127.0.0.1:{server.port}"  # never "localhost": the state cookie must come back
    thread = threading.Thread(target=server.serve_forever, name="kudos-e2e", daemon=True)
    try:
        with running_provider(
            tmp_path_factory.mktemp("e2e-oidc"), redirect_bases=[base]
        ) as provider:
            app = create_app(
                {
                    "SECRET_KEY": TEST_SECRET_KEY,
                    "DATABASE_URL": e2e_database_url,
                    "SESSION_COOKIE_SECURE": False,
                    # One browser signs in as many people from one address;
                    # the limits have tests of their own.
                    "RATELIMIT_ENABLED": False,
                    **provider.app_settings(BASE_URL=base, OIDC_ADMIN_GROUP="kudos-admins"),
                }
            )
            server.app = closing_responses(app)
            thread.start()
            try:
                yield LiveServer(base, app, provider, e2e_engine)
            finally:
                server.shutdown()
                thread.join(timeout=10)
                app.extensions["kudos.db"].kw["bind"].dispose()
    finally:
        server.server_close()


def empty_tables(engine: Engine) -> None:
    tables = [table for table in Base.metadata.sorted_tables if table.name not in KEPT_TABLES]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())
        # The values are kept (the migration seeds them); one retired by a
        # test comes back for the next.
        connection.execute(text("UPDATE value SET active = true"))


# The browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's "
            "headless Chromium (apt-get install chromium; scripts/test does it).",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# Per test: a clean site and people who use it ------------------------------


class Site:
    """The running Kudos, its database (for arranging data) and people's browsers."""

    def __init__(self, server: LiveServer, chromium: Browser, session: Session) -> None:
        self.server = server
        self.chromium = chromium
        self.session = session
        self.make = factories.Factory(session)
        self.contexts: list[BrowserContext] = []

    def url(self, path: str) -> str:
        return self.server.url(path)

    def person(self, name: str, *, login: str | None = None, admin: bool = False, **fields: Any):
        """A directory person who can sign in as ``login`` (their first name)."""
        login = login or name.split()[0].lower()
        person = self.make.person(name=name, email=f"{login}@acme.example.com", **fields)
        claims: dict[str, Any] = {
            "email": person.email,
            "email_verified": True,
            "name": name,
            "groups": ["kudos-admins"] if admin else ["staff"],
        }
        self.server.add_login(login, claims)
        return person

    def prefer(self, person: Any, style: str = "low_key", **choices: Any) -> None:
        """Give ``person`` recognition preferences, as onboarding would."""
        save_preferences(
            self.session,
            person,
            PreferenceChoices(
                audience=choices.pop("audience", "public"),
                style=style,
                email_opt_in=False,
                on_leaderboards=choices.pop("on_leaderboards", True),
                favourite_value_ids=[],
                best_way_to_thank=choices.pop("best_way_to_thank", None),
            ),
            now=utcnow(),
        )
        self.session.commit()

    def new_login(self, login: str, name: str, **claims: Any) -> None:
        """Someone the directory does not know yet: created at first sign-in."""
        self.server.add_login(
            login,
            {"email": f"{login}@acme.example.com", "email_verified": True, "name": name, **claims},
        )

    def browser(
        self,
        *,
        viewport: dict[str, int] | None = None,
        javascript: bool = True,
        reduced_motion: str = "no-preference",
        color_scheme: str = "light",
    ) -> Page:
        """A fresh browser (its own cookies) with one tab open."""
        self.session.commit()  # end any read transaction before the server writes
        context = self.chromium.new_context(
            viewport=viewport or DESKTOP,
            java_script_enabled=javascript,
            reduced_motion=reduced_motion,
            color_scheme=color_scheme,
            locale="en-GB",
            device_scale_factor=1,
        )
        context.set_default_timeout(10_000)
        # axe-core rides along on every page through the DevTools protocol,
        # so the pages keep their real Content-Security-Policy (no inline
        # script tag would be allowed in).
        context.add_init_script(path=str(axe_js()))
        self.contexts.append(context)
        return context.new_page()

    def sign_in(self, login: str, page: Page | None = None, **browser_options: Any) -> Page:
        """Sign in through the provider's login form, as a person would."""
        page = page or self.browser(**browser_options)
        page.goto(self.url("/login"))
        page.get_by_role("button", name=re.compile("^Sign in with")).click()
        page.locator("input[name=login]").fill(login)
        page.locator("input[name=password]").fill("any password")
        page.locator("button[type=submit]").first.click()
        page.wait_for_url(re.compile(re.escape(self.server.base) + r"/(?!login|auth)"))
        return page

    def save_failure_screenshots(self, test_name: str) -> None:
        """What each open tab showed when the test failed, for the CI log."""
        folder = SCREENSHOTS.parent / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(self.contexts):
            for m, page in enumerate(context.pages):
                path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', test_name)}-{n}-{m}.png"
                page.screenshot(path=str(path), full_page=True)
                print(f"screenshot of {page.url} at failure: {path}")  # noqa: T201

    def close(self) -> None:
        for context in self.contexts:
            context.close()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture
def site(
    request: pytest.FixtureRequest, live_server: LiveServer, chromium: Browser
) -> Iterator[Site]:
    empty_tables(live_server.engine)
    live_server.users.clear()
    live_server.provider.set_users({})
    # Objects stay readable after commit, so arranging data never leaves a
    # transaction open (SQLite would lock the server out).
    with Session(live_server.engine, expire_on_commit=False) as session:
        site = Site(live_server, chromium, session)
        try:
            yield site
        finally:
            if request.node.stash.get(FAILED, False):
                site.save_failure_screenshots(request.node.name)
            site.close()


# Checks shared by the journeys ------------------------------------------------


def axe_js() -> Path:
    if not AXE_JS.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE_JS}): run `npm ci` in devtools/axe "
            "(scripts/test does it).",
            pytrace=False,
        )
    return AXE_JS


def assert_accessible(page: Page, what: str = "") -> None:
    """axe-core finds no serious or critical problem on the page as it is now."""
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe on {what or page.url}:\n" + describe(serious)


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


def assert_fits_phone(page: Page) -> None:
    """Nothing sticks out sideways at 390 px: no horizontal scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} is {width} px wide at {viewport} px"


def screenshot(page: Page, name: str, *, moving: bool = False) -> Path:
    """Save the whole page; animations are stopped unless ``moving``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="allow" if moving else "disabled")
    return path


# Does an element draw a focus ring (an outline or a box shadow)?
FOCUS_VISIBLE_JS = """el => {
    const style = getComputedStyle(el);
    return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
        || style.boxShadow !== 'none';
}"""


def focus_is_visible(page: Page) -> bool:
    """The focused element draws a focus ring."""
    return page.evaluate(
        f"""() => {{
        const el = document.activeElement;
        return !!el && el !== document.body && ({FOCUS_VISIBLE_JS})(el);
    }}"""
    )


def assert_keyboard_reaches_everything(page: Page, limit: int = 200) -> None:
    """Tab goes through every control on the page, each with a visible focus.

    Every visible link, button, field and checkbox must be reached, and at
    least one radio button of each group (arrow keys move within a group).
    """
    page.wait_for_load_state("load")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")
    controls = page.evaluate(
        """() => {
        const selector = 'a[href], button, input:not([type=hidden]), select, textarea, '
            + 'details > summary, [tabindex="0"]';
        // checkVisibility: not inside a closed <details> either, which
        // Chromium hides with content-visibility (its boxes remain).
        const visible = el => el.getClientRects().length > 0
            && el.checkVisibility({visibilityProperty: true});
        document.querySelectorAll(selector).forEach((el, i) => el.dataset.kbd = i);
        return Array.from(document.querySelectorAll(selector))
            .filter(el => visible(el) && !el.disabled)
            .map(el => ({id: el.dataset.kbd, radio: el.type === 'radio' ? el.name : null,
                         label: (el.outerHTML || '').slice(0, 90)}));
    }"""
    )
    reached: set[str] = set()
    invisible: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused, visible, html = page.evaluate(
            f"""() => {{
            const el = document.activeElement;
            if (!el || el === document.body) return [null, false, ''];
            return [el.dataset.kbd ?? null, ({FOCUS_VISIBLE_JS})(el), el.outerHTML.slice(0, 90)];
        }}"""
        )
        if focused is None or focused in reached:
            break
        reached.add(focused)
        if not visible:
            invisible.append(html)
    assert controls, f"{page.url}: no controls found"
    radio_groups = {c["radio"] for c in controls if c["radio"]}
    reached_groups = {c["radio"] for c in controls if c["radio"] and c["id"] in reached}
    missed = [c["label"] for c in controls if not c["radio"] and c["id"] not in reached]
    assert not missed, f"{page.url}: Tab never reaches {missed}"
    assert radio_groups == reached_groups, f"{page.url}: Tab never reaches radio groups " + str(
        radio_groups - reached_groups
    )
    assert not invisible, f"{page.url}: no visible focus on {invisible}"


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    # Until the style sheet has loaded, Chromium draws its own thin ring.
    page.wait_for_load_state("load")
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            assert focus_is_visible(page), f"no visible focus on {selector}: " + page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return `outline ${s.outline}, box-shadow ${s.boxShadow},"
                " ready ${document.readyState}, sheets ${document.styleSheets.length}`; }"
            )
            return
    raise AssertionError(f"{selector} cannot be reached with Tab on {page.url}")
