"""The documents a consultant sends to the practice - presentation only: the report being built
(:func:`begin_report`), PHI masking (:class:`Redactor`), and the views of the estimate, the
mapping sign-off sheet, the migration summary and the rebuild guide. The steps that compute them
are the workflow's (:mod:`toolkit.workflow`).
"""

from .context import begin_report
from .document_views import show_estimate, show_migration_summary, show_rebuild_guide, show_signoff
from .redaction import Redactor

__all__ = ["Redactor", "begin_report", "show_estimate", "show_migration_summary", "show_rebuild_guide", "show_signoff"]
