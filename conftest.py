"""Session set-up for nbval: the step notebooks run against a small real workspace.

The notebooks' ``workspace`` parameter is ``$CRM_MIGRATE_WORKSPACE`` (else the demo's). When the
session collects notebooks, this builds ``build/nbval/workspace`` from a generated export and a
HighLevel sandbox started for the session, and puts its path and the sandbox token in the
environment the kernels inherit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NBVAL_DIR = ROOT / "build" / "nbval"
_BOX = None
_STAGING = None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``make test`` runs ``-n 2``), a test module stays on one worker, so that
    its module-scoped sandboxes and demo runs are made once; the report tests share one
    session-scoped demo, so they stay together too."""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/reports" if path.startswith("tests/reports/") else path

    return ByModule(config, log)


def pytest_collection_finish(session):
    global _BOX
    if not any(item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid for item in session.items):
        return
    import crm_sandbox as sandbox
    from toolkit import init_workspace
    from toolkit.demo import fallback_user
    from toolkit.sources import registry

    if NBVAL_DIR.exists():
        shutil.rmtree(NBVAL_DIR)
    export = NBVAL_DIR / "export"
    registry.get("dent-o-soft")().generate(export, patients=40, seed=11)
    import json

    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    _BOX = sandbox.start("highlevel", seed={"users": users})
    os.environ["HIGHLEVEL_TOKEN"] = _BOX.token
    os.environ["CRM_MIGRATE_WORKSPACE"] = str(NBVAL_DIR / "workspace")
    ws = init_workspace(NBVAL_DIR / "workspace", source="dent-o-soft", export=export, destination="highlevel",
                        base_url=_BOX.url, token_env="HIGHLEVEL_TOKEN", options=_BOX.options,
                        fallback_owner=fallback_user(users))
    # 03_sample loads into a staging account: a second sandbox
    global _STAGING
    _STAGING = sandbox.start("highlevel", seed={"users": users})
    ws.extra["staging"] = {"base_url": _STAGING.url, "token_env": "HIGHLEVEL_TOKEN", "options": _STAGING.options}
    ws.save()
    # nbval runs notebooks as they are; the headless runs' option is given here instead
    from toolkit.workflow import open_workspace, prepare_mapping

    prepare_mapping(open_workspace(NBVAL_DIR / "workspace"), accept_proposals=True)
    # 10_group rolls up a group of one: this workspace, as a manifest line names it
    manifest = NBVAL_DIR / "group.yaml"
    manifest.write_text("group: nbval group\nworkspaces: .\npractices:\n"
                        "  - {name: workspace, source: dent-o-soft, export: export, destination: highlevel, "
                        "token_env: HIGHLEVEL_TOKEN}\n", encoding="utf-8")
    os.environ["CRM_MIGRATE_GROUP"] = str(manifest)


def pytest_sessionfinish(session, exitstatus):
    for box in (_BOX, _STAGING):
        if box is not None:
            box.stop()
