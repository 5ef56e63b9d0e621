"""The domain model; importing this package registers every table with Alembic."""

from survey.models.geo import Procedure, ServicePoint, Unit, UnitSuccession
from survey.models.paper import PaperBatch, PaperForm, PaperPass
from survey.models.questionnaire import QuestionnaireVersion
from survey.models.response import Answer, AuditEntry, Response
from survey.models.results import ResultRow, ResultSet
from survey.models.user import User
from survey.models.wave import CalibrationTarget, FrameEntry, Wave

__all__ = [
    "Answer",
    "AuditEntry",
    "CalibrationTarget",
    "FrameEntry",
    "PaperBatch",
    "PaperForm",
    "PaperPass",
    "Procedure",
    "QuestionnaireVersion",
    "Response",
    "ResultRow",
    "ResultSet",
    "ServicePoint",
    "Unit",
    "UnitSuccession",
    "User",
    "Wave",
]
