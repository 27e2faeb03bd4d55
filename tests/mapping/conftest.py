"""A small generated Dent-O-Soft export, read once for the mapping tests."""

import pytest

from toolkit.sources import registry


@pytest.fixture(scope="session")
def dos_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("dos") / "export"
    registry.get("dent-o-soft")().generate(out, patients=40, seed=5)
    return out


@pytest.fixture(scope="session")
def dos_snapshot(dos_export):
    return registry.get("dent-o-soft")().read(dos_export)


@pytest.fixture(scope="session")
def dx_export(tmp_path_factory):
    out = tmp_path_factory.mktemp("dx") / "export"
    registry.get("dental-exec")().generate(out, patients=40, seed=3)
    return out


@pytest.fixture(scope="session")
def dx_snapshot(dx_export):
    return registry.get("dental-exec")().read(dx_export)
