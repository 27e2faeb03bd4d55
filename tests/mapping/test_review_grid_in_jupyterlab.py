"""The review grid as a person uses it: JupyterLab in headless Chromium.

A real JupyterLab server opens ``notebooks/02_mapping.ipynb`` on a generated workspace; the
browser runs every cell, types the reviewer's name, points one column at another's target (the
grid warns), takes it back to a field of its own, excludes a column, and clicks **Save mapping**.
Then ``mapping.yaml`` on disk holds those choices stamped with the reviewer's name, the field
table below the grid shows them without running its cell again, and no button label is cut.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from toolkit import init_workspace
from toolkit.mapping import MappingSpec
from toolkit.sources import registry

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        pytest.skip("no Chromium on this machine")
    root = tmp_path_factory.mktemp("lab")
    export = registry.get("dent-o-soft")().generate(root / "export", patients=20, seed=8)
    ws = init_workspace(root / "ws", source="dent-o-soft", export=export, destination="highlevel",
                        base_url="http://127.0.0.1:9", token_env="UNSET_TOKEN_FOR_THE_GRID")
    books = root / "notebooks"
    books.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_mapping.ipynb", books)
    port, token = _free_port(), "grid-test"
    env = {k: v for k, v in os.environ.items() if k not in {"CRM_MIGRATE_REVIEWER", "JUPYTERHUB_USER"}}
    # every cell in the page, not only those scrolled into view (JupyterLab's default windowing),
    # so that the grid can be found wherever the run left the page
    settings = root / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}', encoding="utf-8")
    env |= {"CRM_MIGRATE_WORKSPACE": str(ws.root), "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(root / "jupyter-runtime"), "JUPYTERLAB_SETTINGS_DIR": str(root / "lab-settings")}
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={books}",
                               "--ServerApp.ip=127.0.0.1", "--LabApp.news_url=", "--ServerApp.open_browser=False",
                               "--allow-root"],
                              env=env, cwd=books, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        said = []
        for line in server.stderr:  # the server says when it listens
            said.append(line)
            if f"127.0.0.1:{port}/lab" in line:
                break
        else:
            pytest.fail("JupyterLab did not start:\n" + "".join(said[-20:]))
        threading.Thread(target=server.stderr.read, daemon=True).start()  # keep its pipe from filling
        # it says so just before it listens: poll the status route until it answers
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield ws, f"{base}/lab/tree/02_mapping.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_reviewer_sets_targets_saves_and_the_table_follows(lab):
    from playwright.sync_api import expect, sync_playwright

    ws, url = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        reviewer = page.get_by_placeholder("your name, stamped on what you confirm")
        try:
            expect(reviewer).to_be_visible(timeout=90_000)
        except AssertionError:
            page.screenshot(path="/tmp/lab-fail.png", full_page=True)
            raise
        # every cell has run (the field table below the grid among them)
        expect(page.locator(".jp-InputPrompt", has_text="[*]")).to_have_count(0, timeout=60_000)
        expect(page.locator(".jp-OutputArea table td", has_text="proposed").first).to_be_visible()
        reviewer.fill("Maria Lopez")
        reviewer.press("Tab")

        page.get_by_text("patients → contact", exact=False).first.click()  # open the patients' section
        row = lambda column: page.locator(".widget-vbox", has=page.locator(f"b:text-is('{column}')")).last  # noqa: E731
        shown = row("FirstName").locator("select").first.input_value()  # a label: "firstName (first name)"
        first_target = shown.split(" (")[0]
        row("City").locator("select").first.select_option(label=shown)
        expect(page.get_by_text(f"{first_target} is the target of FirstName, City").first).to_be_visible()
        company = next(o for o in row("City").locator("select").first.locator("option").all_inner_texts()
                       if o.startswith("companyName"))
        row("City").locator("select").first.select_option(label=company)
        expect(page.get_by_text(f"{first_target} is the target of FirstName, City")).to_have_count(0)
        row("Email").get_by_role("button", name="exclude").click()

        # no label of the field rows' buttons is cut short
        for label in ("accept", "exclude", "undecided"):
            button = row("Email").get_by_role("button", name=label)
            assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), f"{label!r} is cut"
            assert button.inner_text().strip() == label

        page.get_by_role("button", name="Save mapping").click()
        expect(page.get_by_text("saved mapping.yaml by Maria Lopez").first).to_be_visible(timeout=30_000)
        # the table under the grid was redrawn from the saved mapping, its cell not run again
        expect(page.locator("table td", has_text="Maria Lopez").first).to_be_visible(timeout=30_000)
        browser.close()

    saved = MappingSpec.load(ws.mapping_path)
    fields = {f.source: f for f in saved.object("patients").fields if isinstance(f.source, str)}
    assert fields["City"].target == "companyName" and fields["City"].status == "confirmed"
    assert fields["City"].extra["confirmed_by"] == "Maria Lopez"
    assert fields["Email"].status == "excluded"
    assert fields["LastName"].status == "proposed"  # what the reviewer did not touch stays undecided
