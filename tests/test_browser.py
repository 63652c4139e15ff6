"""The public pages in a real browser: headless Chromium (Debian's ``chromium`` package) driven
by Playwright for Python against pytest-django's live server, on the real seed data.

- every page loads, with its stylesheet, and nothing is requested from another host (every
  request is routed through :meth:`Visit.route`, which aborts and records any other host);
- a reader follows links from the matrix to a jurisdiction to an instrument, changes ``as_of``
  in the form and sees Korea's cell change, and downloads the CSV;
- the same form works with JavaScript turned off;
- screenshots of every page (desktop and phone widths) are saved to ``test-artifacts/``.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (override with
``LAWTRACKER_CHROMIUM``). When Chromium or Playwright is missing the tests are skipped with the
reason, except under CI (``CI=true``), where they fail: CI must run them (``.ci/run`` installs
Chromium).
"""

from __future__ import annotations

import csv
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LAWTRACKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
KOREA_LAW = "kr-sexual-crimes-punishment-act-art-14-2-amendment"
AI = "ai_generated_explicit"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

PAGES = [
    ("home", "/"),
    ("compare", "/compare/"),
    ("compare-eu-2024", f"/compare/?bloc=EU&research=all&criterion={AI},possession&as_of=2024-06-30"),
    ("gaps", "/gaps/"),
    ("map", "/map/"),
    ("jurisdiction-kr", "/jurisdictions/KR/"),
    ("jurisdiction-us-ca", "/jurisdictions/us-ca/"),
    ("jurisdiction-de", "/jurisdictions/DE/"),
    ("instrument-kr", f"/instruments/{KOREA_LAW}/"),
    ("bad-request", "/compare/?as_of=2024-13-01"),
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"{reason}. CI=true: the browser tests must run, not be skipped.")
    pytest.skip(reason)


class Chromium:
    """Headless Chromium, driven from a thread of its own.

    Playwright's sync API runs an asyncio event loop in the thread that starts it, and Django
    refuses database access from a thread with a running loop (``SynchronousOnlyOperation``).
    The test's own thread loads the seed and pytest-django flushes the database after each
    test, so the browser lives in a single worker thread and each scenario runs there
    (:meth:`run`); exceptions, failed assertions included, come back to the test.
    """

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright = None
        self.browser = None

    def run(self, function, *args):
        return self._pool.submit(function, *args).result()

    def start(self) -> str | None:
        """Start Chromium; returns why it could not, or None."""

        def start():
            try:
                from playwright.sync_api import sync_playwright
            except ImportError as exc:
                return f"Playwright for Python is not installed ({exc}); see requirements-dev.txt"
            if not Path(CHROMIUM).exists():
                return f"{CHROMIUM} is missing: apt-get install chromium"
            self._playwright = sync_playwright().start()
            try:
                self.browser = self._playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
                )
            except Exception as exc:  # any launch failure: report it, do not hide it
                self._playwright.stop()
                return f"Chromium at {CHROMIUM} did not start: {exc}"
            return None

        return self.run(start)

    def stop(self):
        def stop():
            if self.browser is not None:
                self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        self.run(stop)
        self._pool.shutdown()


@pytest.fixture(scope="module")
def chromium():
    driver = Chromium()
    problem = driver.start()
    if problem:
        driver.stop()
        _unavailable(problem)
    yield driver
    driver.stop()


@pytest.fixture
def site(live_server, transactional_db):
    """The live server's URL, with the real seed data committed (flushed after the test)."""
    call_command("load_seed", verbosity=0, stdout=io.StringIO())
    return live_server.url


class Visit:
    """A browser context on the live server that aborts and records every request to another
    host, and records local requests that failed (a missing stylesheet)."""

    def __init__(self, browser, base_url: str, **options):
        self.base = urlsplit(base_url)
        self.context = browser.new_context(base_url=base_url, viewport=DESKTOP, **options)
        self.context.set_default_timeout(30_000)
        self.elsewhere: list[str] = []
        self.failed: list[str] = []
        self.context.route("**/*", self.route)
        self.page = self.context.new_page()
        self.page.on(
            "response",
            lambda r: r.status >= 400 and "/static/" in r.url and self.failed.append(r.url),
        )
        self.page.on(
            "requestfailed",
            # A request the browser itself aborted (a navigation left the page before an icon
            # arrived) is no failure of this host.
            lambda r: self._local(r.url) and "ERR_ABORTED" not in (r.failure or "")
            and self.failed.append(f"{r.url} {r.failure}"),
        )

    def _local(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == (self.base.scheme, self.base.netloc)

    def route(self, route):
        if urlsplit(route.request.url).scheme in ("data", "blob") or self._local(route.request.url):
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()
        assert self.elsewhere == [], f"requests to other hosts: {self.elsewhere}"
        assert self.failed == [], f"failed requests on this host: {self.failed}"


def _shot(page, name: str, full: bool = True):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def _cell(page, code: str, criterion: str):
    return page.locator(f"tr[data-code='{code}'] td[data-criterion='{criterion}']")


# --- the tests ----------------------------------------------------------------------------------
def test_every_page_loads_styled_from_this_host_only(chromium, site):
    def scenario(browser):
        visit = Visit(browser, site)
        page = visit.page
        for name, path in PAGES:
            response = page.goto(path)
            expected = 400 if name == "bad-request" else 200
            assert response.status == expected, f"{path}: {response.status}"
            assert page.locator("h1").first.is_visible()
            # The stylesheet applied: the header has its background colour.
            assert page.evaluate(
                "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
            ) == "rgb(29, 53, 87)"
            _shot(page, f"{name}-desktop")
        # The map is coloured by the stylesheet, Korea as "yes".
        page.goto(f"/map/?criterion={AI}&as_of=2025-01-01")
        korea = page.locator("svg.worldmap:not(.europemap) g[data-code='KR']")
        assert "v-yes" in korea.get_attribute("class")
        assert korea.evaluate("g => getComputedStyle(g).fill") == "rgb(68, 187, 153)"
        visit.close()

        # A phone: the page itself never scrolls sideways; wide tables scroll in their box.
        phone = Visit(browser, site, is_mobile=True, has_touch=True)
        phone.page.set_viewport_size(PHONE)
        for name, path in PAGES:
            phone.page.goto(path)
            overflow = phone.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} is {overflow}px wider than a phone screen"
            _shot(phone.page, f"{name}-phone")
        phone.close()

    chromium.run(scenario, chromium.browser)


def test_matrix_to_jurisdiction_to_instrument_as_of_and_csv(chromium, site):
    def scenario(browser):
        visit = Visit(browser, site, accept_downloads=True)
        page = visit.page

        # Korea before its 2024 amendments: not yes (its 2020 law, in force, names no means).
        page.goto(f"/compare/?as_of=2024-01-01&criterion={AI}")
        assert _cell(page, "KR", AI).get_attribute("data-value") == "no"
        assert "No" in _cell(page, "KR", AI).inner_text()
        assert "No law found" not in _cell(page, "KR", AI).inner_text()
        _shot(page, "flow-1-matrix-2024")

        # Change the date in the form, as a reader would: the cell turns yes.
        page.fill("#f-as_of", "2025-01-01")
        with page.expect_navigation():
            page.get_by_role("button", name="Show").click()
        assert "as_of=2025-01-01" in page.url
        assert _cell(page, "KR", AI).get_attribute("data-value") == "yes"
        assert "Yes" in _cell(page, "KR", AI).inner_text()
        permalink = page.locator("a.permalink").get_attribute("href")
        assert "as_of=2025-01-01" in permalink and f"criterion={AI}" in permalink
        _shot(page, "flow-2-matrix-2025")

        # Download the CSV of the matrix.
        with page.expect_download() as download_info:
            page.locator("a.csv-link").first.click()
        download = download_info.value
        body = Path(download.path()).read_text(encoding="utf-8-sig")
        rows = {r["jurisdiction"]: r for r in csv.DictReader(io.StringIO(body))}
        assert rows["KR"]["value"] == "yes" and rows["KR"]["as_of"] == "2025-01-01"
        assert KOREA_LAW in rows["KR"]["instruments"]

        # Matrix -> jurisdiction, with the keyboard: focus the row's link and press Enter.
        page.locator("tr[data-code='KR'] th a").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert urlsplit(page.url).path == "/jurisdictions/KR/"
        assert "as_of=2025-01-01" in page.url
        assert "South Korea" in page.locator("h1").inner_text()
        assert page.locator(f"#criterion-{AI} td").first.get_attribute("data-value") == "yes"
        _shot(page, "flow-3-jurisdiction")

        # Jurisdiction -> instrument that decides the answer.
        with page.expect_navigation():
            page.locator(f"#criterion-{AI} a[href^='/instruments/{KOREA_LAW}/']").first.click()
        assert urlsplit(page.url).path == f"/instruments/{KOREA_LAW}/"
        assert page.locator("#legal-force").inner_text() == "In force"
        data = json.loads(page.locator("script[type='application/ld+json']").text_content())
        assert data["@type"] == "Legislation" and data["legislationDate"] == "2024-10-10"
        _shot(page, "flow-4-instrument")

        # The skip link is the first stop of the keyboard and leads to the content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
        visit.close()

        # Without JavaScript the filters still work: they are a plain GET form.
        plain = Visit(browser, site, java_script_enabled=False)
        plain.page.goto(f"/compare/?as_of=2024-01-01&criterion={AI}")
        plain.page.fill("#f-as_of", "2025-01-01")
        with plain.page.expect_navigation():
            plain.page.get_by_role("button", name="Show").click()
        assert _cell(plain.page, "KR", AI).get_attribute("data-value") == "yes"
        _shot(plain.page, "flow-5-no-javascript")
        plain.close()

    chromium.run(scenario, chromium.browser)


def test_search_box_index_of_a_group_and_the_wide_csv(chromium, site):
    """A reader finds a country by its name in the search box on any page, lists the G20
    in the jurisdiction index, downloads the compare matrix in the wide layout, and lists the
    US laws enacted in 2024-2025 through the API's enacted_after/enacted_before filters."""
    def scenario(browser):
        visit = Visit(browser, site, accept_downloads=True)
        page = visit.page

        # The search box in the header: any case, accents ignored.
        page.goto("/map/")
        page.fill("#site-q", "COTE D'IVOIRE")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert urlsplit(page.url).path == "/search/"
        with page.expect_navigation():
            page.locator("#jurisdiction-results a[href='/jurisdictions/CI/']").click()
        assert "Côte d'Ivoire" in page.locator("h1").inner_text()
        _shot(page, "find-1-cote-divoire")

        # The index, narrowed to a group: the G20's members, each with a value.
        page.goto(f"/jurisdictions/?group=G20&research=all&criterion={AI}")
        codes = page.locator("tr[data-code]").evaluate_all(
            "rows => rows.map(r => r.dataset.code)")
        assert {"AR", "AU", "BR", "DE", "FR", "IN", "JP", "KR", "US", "ZA"} <= set(codes)
        assert not {"NL", "BE", "CH"} & set(codes)
        assert "EU" in codes and len(codes) == len(set(codes)) == 20  # 19 countries, the EU
        assert "Yes" in page.locator("tr[data-code='KR']").inner_text()
        _shot(page, "find-2-g20-index")

        # The matrix of the G20 in the wide layout: one line per place, one column per question.
        page.goto(f"/compare/?group=G20&research=all&criterion={AI},possession&as_of=2026-12-01")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="wide CSV").click()
        body = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
        wide = {r["jurisdiction"]: r for r in csv.DictReader(io.StringIO(body))}
        assert set(wide) == set(codes)
        assert (wide["KR"][AI], wide["KR"]["possession"]) == ("yes", "yes")
        assert KOREA_LAW in wide["KR"][f"{AI}_instruments"]

        # Enacted between two dates, through the API as a browser asks it.
        response = page.goto("/api/v1/instruments/?within=US&enacted_after=2024-01-01"
                             "&enacted_before=2025-12-31&page_size=500&format=json")
        found = json.loads(response.text())
        assert found["count"] == len(found["results"]) > 10
        for row in found["results"]:
            dates = {e["status"]: e["date"] for e in row["status_events"]}
            enacted = dates.get("adopted") or dates.get("in_force")
            assert enacted and "2024-01-01" <= enacted <= "2025-12-31", row["slug"]
        visit.close()

    chromium.run(scenario, chromium.browser)
