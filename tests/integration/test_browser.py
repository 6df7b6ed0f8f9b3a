"""A real browser on the page the distroless container serves.

Debian's Chromium, driven by Playwright; no browser is ever downloaded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tools.paths import SCREENSHOTS

from .conftest import Container, Runner

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
SHOTS = SCREENSHOTS
# Flags for a sandboxed CI machine with no network beyond the registries.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Shifts the visitor's wall clock by 400 days; the page must not care.
WRONG_CLIENT_CLOCK = """
(() => {
  const RealDate = Date, shift = -400 * 86400000;
  class WrongDate extends RealDate {
    constructor(...args) {
      if (args.length) { super(...args); } else { super(RealDate.now() + shift); }
    }
    static now() { return RealDate.now() + shift; }
  }
  globalThis.Date = WrongDate;
})();
"""


@pytest.fixture(scope="module")
def variant() -> str:
    """The browser checks run once, against the distroless image."""
    return "distroless"


@pytest.fixture
def served(start: Runner) -> Container:
    return start()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `bin/setup` (it installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def moscow_now_seconds() -> int:
    now = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow"))
    return now.hour * 3600 + now.minute * 60 + now.second


def shown_seconds(text: str) -> int:
    hours, minutes, seconds = map(int, text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def apart(a: int, b: int) -> int:
    """Seconds between two times of day, across midnight."""
    return min(abs(a - b), 86400 - abs(a - b))


def test_page_in_a_real_browser(served: Container, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(WRONG_CLIENT_CLOCK)
    page.goto(served.url + "/")

    # The script has taken over, and it shows Moscow time despite the wrong clock.
    page.wait_for_function(
        "document.title.endsWith(' in Moscow') && !document.title.includes('Moscow time')"
    )
    first = page.inner_text("#clock")
    assert apart(shown_seconds(first), moscow_now_seconds()) <= 2
    assert page.inner_text("#zone").startswith("Moscow (")

    time.sleep(3)
    later = page.inner_text("#clock")
    assert 2 <= apart(shown_seconds(later), shown_seconds(first)) <= 4
    assert apart(shown_seconds(later), moscow_now_seconds()) <= 2

    SHOTS.mkdir(parents=True, exist_ok=True)
    # Into build/ only: docs/screenshot.png is refreshed on purpose (`nox -s screenshot`).
    page.screenshot(path=str(SHOTS / "desktop.png"))

    # Phone width: nothing overflows sideways and the clock is fully visible.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.locator("#clock").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360
    page.screenshot(path=str(SHOTS / "phone.png"))

    # CSP violations and script errors reach the console; there must be none.
    assert problems == []
