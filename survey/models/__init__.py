"""The domain model; importing this package registers every table with Alembic."""

from survey.models.geo import Procedure, ServicePoint, Unit, UnitSuccession
from survey.models.questionnaire import QuestionnaireVersion
from survey.models.response import Answer, AuditEntry, Response
from survey.models.user import User
from survey.models.wave import FrameEntry, Wave

__all__ = [
    "Answer",
    "AuditEntry",
    "FrameEntry",
    "Procedure",
    "QuestionnaireVersion",
    "Response",
    "ServicePoint",
    "Unit",
    "UnitSuccession",
    "User",
    "Wave",
]
