import os
import stat

from toolkit import Ledger
from toolkit.load.ledger import UNCHANGED


def test_created_owner_readable_only(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_intent_without_outcome_is_pending_and_outcome_maps_ids(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as led:
        run = led.start_run("full")
        a = led.intent(run, "create", source_object="patients", source_key="P1", dest_object="contact")
        b = led.intent(run, "create", source_object="patients", source_key="P2", dest_object="contact")
        led.outcome(a, dest_id="c1", content_hash="h1")
        assert [e.source_key for e in led.pending()] == ["P2"]
        assert led.id_map("patients") == {"P1": ("c1", "h1")}
        led.outcome(b, state="failed", reason="HTTP 422: bad phone")
        assert led.pending() == []
        fates = led.fates()
        assert fates[("patients", "P1")][0] == "created"
        assert fates[("patients", "P2")] == ("error", "HTTP 422: bad phone")


def test_pending_survives_a_reopen(tmp_path):
    path = tmp_path / "l.sqlite"
    led = Ledger(path)
    run = led.start_run("full")
    led.intent(run, "create", source_object="patients", source_key="P9", dest_object="contact")
    led.close()  # the process "dies" here
    with Ledger(path) as again:
        assert [e.source_key for e in again.pending()] == ["P9"]


def test_unchanged_skip_does_not_hide_the_create(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as led:
        run = led.start_run("full")
        seq = led.intent(run, "create", source_object="patients", source_key="P1", dest_object="contact")
        led.outcome(seq, dest_id="c1", content_hash="h")
        run2 = led.start_run("full")
        led.note(run2, "skip", source_object="patients", source_key="P1", reason=UNCHANGED)
        assert led.fates()[("patients", "P1")][0] == "created"
        led.note(run2, "skip", source_object="patients", source_key="P3", reason="deceased")
        assert led.fates()[("patients", "P3")] == ("skipped", "deceased")
