from pytest_empathy.analysis.gates import GateResult as GateResult
from pytest_empathy.evaluation.finish import verdict as verdict
from pytest_empathy.evaluation.merge import merge as merge
from pytest_empathy.ratings import Rating as Rating
from pytest_empathy.reports.registry import ReportFormat as ReportFormat
from pytest_empathy.results.case import CaseResult as CaseResult
from pytest_empathy.results.result_document import ResultDocument as ResultDocument
from pytest_empathy.settings import StatisticsSettings as StatisticsSettings

__version__: str
__all__ = [
    "CaseResult",
    "GateResult",
    "Rating",
    "ReportFormat",
    "ResultDocument",
    "StatisticsSettings",
    "__version__",
    "merge",
    "verdict",
]
