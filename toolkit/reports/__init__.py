"""The documents a consultant sends to the practice, and what they need: the report being built
(:func:`begin_report`), PHI masking (:class:`Redactor`), and the report-only steps with their
views — the estimate, the mapping sign-off sheet, owner resolution, the migration summary and the
rebuild guide.
"""

from .context import begin_report
from .document_views import show_estimate, show_migration_summary, show_rebuild_guide, show_signoff
from .redaction import Redactor
from .steps import estimate, migration_summary, owner_report, rebuild_guide, signoff

__all__ = ["Redactor", "begin_report", "estimate", "migration_summary", "owner_report", "rebuild_guide", "signoff",
           "show_estimate", "show_migration_summary", "show_rebuild_guide", "show_signoff"]
