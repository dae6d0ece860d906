"""The dashboard in a real browser (Debian's chromium and chromedriver, driven by selenium): sign in, filter
breaks, assign one, see it updated; a screenshot is saved for a person to look at."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from colend.ports import free_loopback_port as free_port
from tests.e2e.node_process import ROOT
from tests.e2e.service_process import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


class DashboardService(ServiceProcess):
    """A service over a prepared world (no node): the stores are filled before it starts."""

    def __init__(self, root: Path) -> None:
        from tests.clearing.service.world import build_world

        world = build_world(root)
        self.root, self.port, self.books = root, free_port(), world.books
        self.config = root / "service.toml"
        self.config.write_text(world.config_text.replace("[service]\n", f"[service]\nport = {self.port}\n", 1))
        self.proc, self.lines, self.url = None, [], ""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[ServiceProcess, str]]:
    service = DashboardService(tmp_path)
    key = service.add_key("alice", "CLEARING_OFFICER")
    service.start()
    try:
        yield service, key
    finally:
        service.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are missing: run scripts/setup.sh (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(15)  # a loaded CI machine answers slowly
    try:
        yield driver
    finally:
        driver.quit()


def submit_and_wait(browser, button) -> None:
    """Click a form's button and wait until the next page has loaded (elements found before it go stale). The
    old page is marked on its window object, which a navigation replaces."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.colendOldPage = true;")
    button.click()
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "return window.colendOldPage === undefined && document.readyState === 'complete';"))


def test_filter_breaks_assign_one_and_see_it_updated(service, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    proc, key = service
    browser.get(proc.url + "/dashboard/breaks")
    assert "/dashboard/login" in browser.current_url  # no key yet: sent to sign in
    browser.find_element(By.ID, "api_key").send_keys(key)
    submit_and_wait(browser, browser.find_element(By.ID, "sign_in"))  # the key's cookie is set
    browser.get(proc.url + "/dashboard/breaks")
    rows = browser.find_elements(By.CSS_SELECTOR, "#breaks tbody tr[data-break-id]")
    assert len(rows) == 3
    Select(browser.find_element(By.ID, "f_type")).select_by_value("MISSING_IN_BOOKS")
    submit_and_wait(browser, browser.find_element(By.ID, "apply_filters"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#breaks tbody tr[data-break-id]")
    assert [r.get_attribute("data-break-id") for r in rows] == ["MISSING_IN_BOOKS/CLEARING_ENTRY/E6"]
    assert "-1,234,567.89" in rows[0].text  # amounts in yuan with thousands separators
    form = rows[0].find_element(By.CSS_SELECTOR, "form[action='/dashboard/breaks/assign']")
    form.find_element(By.NAME, "assignee").send_keys("bob")
    form.find_element(By.NAME, "comment").send_keys("chase the missing booking")
    submit_and_wait(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert "E6: assign done" in browser.find_element(By.ID, "flash").text
    assert "type=MISSING_IN_BOOKS" in browser.current_url  # back on the filtered list
    row = browser.find_element(By.CSS_SELECTOR, "#breaks tbody tr[data-break-id='MISSING_IN_BOOKS/CLEARING_ENTRY/E6']")
    assert row.find_element(By.CSS_SELECTOR, "td.assignee").text == "bob"
    assert "ASSIGNED" in row.text
    shot = proc.root / "dashboard-breaks.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    keep = ROOT / "build" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / shot.name)
    browser.get(proc.url + "/dashboard/cycles/3")
    assert browser.find_element(By.CSS_SELECTOR, "svg[aria-label='net positions']")
    browser.save_screenshot(str(keep / "dashboard-cycle.png"))


def test_service_cli_refuses_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('[service]\nmode = "bank"\n')
    done = subprocess.run(
        [sys.executable, "-m", "colend", "serve", "--config", str(config)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2 and "error clearing.bad_config: service.bank is required" in done.stderr
