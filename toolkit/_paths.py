"""Where the project's data folders are: ``templates/`` and ``expectations/`` beside the package
(the editable install the Makefile makes), or wherever ``CRM_TOOLKIT_HOME`` points."""

from __future__ import annotations

import os
from pathlib import Path

HOME = Path(os.environ.get("CRM_TOOLKIT_HOME") or Path(__file__).resolve().parent.parent)
TEMPLATES = HOME / "templates"
EXPECTATIONS = HOME / "expectations"
NOTEBOOKS = HOME / "notebooks"
