"""Progress of a long step, shown where the person who started it is looking.

In a notebook, each object gets a tqdm bar. A step started from the command line runs in a
papermill kernel whose output goes into the executed notebook, not to the terminal; the command
line therefore names the format in the environment the kernel inherits (:data:`FORMAT_ENV`:
``text`` or ``json``) and the step's progress is also written to the kernel's own standard error,
which is the terminal's:

* ``text`` - one line per object as it goes: done / total, percentage, rate, time left and the
  limit being waited on; rewritten in place on a terminal, a new line every ten seconds (and at
  the end of each object) when the output is a file or a pipe;
* ``json`` - one JSON object per line (``{"event": "progress", ...}``) for a scheduler or a log
  collector.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from typing import Any

from tqdm.auto import tqdm

__all__ = ["FORMAT_ENV", "STEP_ENV", "ObjectProgress", "emit_event", "notice"]

#: how the command line wants progress in the terminal: "text", "json", or unset (none)
FORMAT_ENV = "CRM_MIGRATE_PROGRESS"
#: the step the command line runs (named in each progress line)
STEP_ENV = "CRM_MIGRATE_STEP"


def _terminal():
    """The process's own standard error (in a kernel, ``sys.stderr`` is the notebook's)."""
    return sys.__stderr__


def emit_event(event: str, **fields: Any) -> None:
    """One structured event on the terminal, when the command line asked for JSON."""
    if os.environ.get(FORMAT_ENV) != "json" or _terminal() is None:
        return
    line = {"event": event, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "step": os.environ.get(STEP_ENV), **fields}
    print(json.dumps(line, default=str), file=_terminal(), flush=True)


def notice(event: str, text: str, **fields: Any) -> None:
    """One finished piece of a step (an object read back): a line, or a JSON event."""
    fmt, out = os.environ.get(FORMAT_ENV), _terminal()
    if fmt == "json":
        emit_event(event, **fields)
    elif fmt and out is not None:
        out.write(f"{os.environ.get(STEP_ENV) or 'step'}: {text}\n")
        out.flush()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ObjectProgress:
    """One object's progress: a tqdm bar (when ``enabled``) and the terminal's lines.

    Used like the tqdm bar it wraps (``update``, ``set_postfix_str``, ``close``, ``disable``).

    Args:
        total: records (or operations) to go.
        desc: what is being done (``patients -> contact``).
        enabled: show progress at all (a step's ``progress`` option).
        bar: also draw the notebook's bar (off for a one-line "done" notice).
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, bar: bool = True, unit: str = "rec"):
        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=not (enabled and bar), mininterval=0.5)
        self.total, self.desc, self.done, self.waiting = total, desc, 0, ""
        self.format = os.environ.get(FORMAT_ENV) if enabled else None
        out = _terminal()
        self.tty = bool(out is not None and out.isatty())
        self.every = 1.0 if self.tty else 10.0
        self.t0 = self.last = time.monotonic()
        self._shown = False

    @property
    def disable(self) -> bool:
        return self.bar.disable and self.format is None

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n
        if self.format and time.monotonic() - self.last >= self.every:
            self._emit(final=False)

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.bar.set_postfix_str(text, refresh=refresh)
        self.waiting = text

    def close(self) -> None:
        self.bar.close()
        if self.format:
            self._emit(final=True)

    def _emit(self, final: bool) -> None:
        out = _terminal()
        if out is None:
            return
        self.last = now = time.monotonic()
        spent = now - self.t0
        rate = self.done / spent if spent > 0 else None
        left = (self.total - self.done) / rate if rate else None
        if self.format == "json":
            emit_event("progress", object=self.desc, done=self.done, total=self.total,
                       rate_per_s=round(rate, 2) if rate else None, eta_s=round(left, 1) if left is not None else None,
                       waiting_on=self.waiting.removeprefix("waiting on ") or None, finished=final)
            return
        step = os.environ.get(STEP_ENV) or "step"
        pct = f"{100 * self.done / self.total:.0f}%" if self.total else "-"
        line = (f"{step}: {self.desc} {self.done:,}/{self.total:,} ({pct}), "
                f"{rate or 0:.1f}/s, " + (f"took {_clock(spent)}" if final else f"{_clock(left)} left")
                + (f", {self.waiting}" if self.waiting and not final else ""))
        if self.tty:
            out.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            out.write(line + "\n")
        out.flush()
        self._shown = True
