"""What the browser tests share: Chromium, `timeline serve` on the seeded story with hostile
events added, a second origin (a "news site"), and pages with everything they did recorded.

Needs the `playwright` package (`pip install -e '.[browser]'`) and Chromium at
/usr/bin/chromium (Debian's `chromium`; or TIMELINE_CHROMIUM). Without them the tests that
import this skip with the reason, unless TIMELINE_BROWSER_TESTS=required (CI's browser step),
where a missing piece fails. Test modules import the fixtures they use by name.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from service.access import tokens
from service.eventlog.store import EventStore
from service.ingest.seed import seed_if_empty
from tests.conftest import drop_database, with_database
from tests.support.apitools import serving
from tests.support.embedtools import hostile_events

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("TIMELINE_BROWSER_TESTS") == "required"
CHROMIUM = Path(os.environ.get("TIMELINE_CHROMIUM", "/usr/bin/chromium"))
TIMELINEJS = ROOT / ".cache/npm/node_modules/@knight-lab/timelinejs/dist"
SCREENSHOTS = ROOT / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LANGS = ("en", "zh-Hans", "zh-Hant")
WIDTHS = (375, 1024)
"""The widths readers see, and the builder's preview toggle: a phone and a desktop column."""
STORY = "entities=huawei,ymtc"

# Every securitypolicyviolation the page sees, kept where the test can read it.
CSP_LISTENER = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation', function (e) {"
    " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"
)


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser tests are required here: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright.sync_api import BrowserContext, Page, sync_playwright
except ImportError:
    missing("the playwright package is not installed (pip install -e '.[browser]')")
if not CHROMIUM.exists():
    missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")


async def _prepare(url: str) -> str:
    """Seed the story and return a write token."""
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        assert await seed_if_empty(EventStore(pool)) > 0
        return await tokens.create_token(pool, scope="write", name="browser-tests")


@pytest.fixture(scope="module")
def service(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """`timeline serve` on a seeded database with the hostile entity added; its base URL."""
    name = f"timeline_b_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(pg_admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    url = with_database(pg_admin_url, name)
    try:
        token = asyncio.run(_prepare(url))
        with serving({"TIMELINE_DATABASE_URL": url, "PATH": os.environ["PATH"]}, []) as base:
            response = httpx.post(
                f"{base}/v1/events",
                json=hostile_events(),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            yield base
    finally:
        asyncio.run(drop_database(pg_admin_url, name))  # and the runtime role the server made


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def host(service: str) -> Iterator[tuple[str, Path]]:
    """A second origin (a 'news site'): a static server over a folder the tests write into,
    with TimelineJS's dist folder under /tl when the npm package is there."""
    folder = Path(tempfile.mkdtemp(prefix="timeline-host-"))
    if TIMELINEJS.exists():
        (folder / "tl").symlink_to(TIMELINEJS)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh user data dir; no network beyond what the pages ask for."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 900, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


class Watched:
    """A page with everything it did recorded: requests, responses of 400 and up, dialogs,
    errors, console errors, and (read with `csp_violations()`) Content-Security-Policy
    violations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(CSP_LISTENER)
        self.failed: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: object) -> None:
        if message.type == "error":  # type: ignore[attr-defined]
            self.errors.append(f"console: {message.text}")  # type: ignore[attr-defined]

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def csp_violations(self) -> list[str]:
        """The violations the current document (and each of its frames) has seen."""
        found: list[str] = []
        for frame in self.page.frames:
            found += frame.evaluate("window.__csp || []")
        return found

    def foreign(self, origin: str) -> list[str]:
        """Every request so far that went anywhere but `origin`."""
        return [u for u in self.requests if not u.startswith(origin + "/")]


@pytest.fixture
def watched(browser: BrowserContext) -> Iterator[Watched]:
    page = browser.new_page()
    try:
        yield Watched(page)
    finally:
        page.close()


def timeline_events(service: str, query: str, **extra: str) -> list[dict]:
    """What `/v1/timeline` answers for `query` (the widget's data, registrations included)."""
    params = dict(urllib.parse.parse_qsl(query)) | extra
    return httpx.get(f"{service}/v1/timeline", params=params, timeout=30).json()["events"]
