"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from app.models.common import utcnow
from app.models.dataset import Dataset, DatasetChange, DatasetRole, TaskType
from app.models.example import Example, ExampleStatus, Revision
from app.models.analysis import Embedding, Finding, FindingStatus
from app.models.job import Job, JobKind, JobStatus
from app.models.export import Export
from app.models.user import ApiToken, LoginCounter, Role, User

__all__ = [
    "ApiToken", "Dataset", "DatasetChange", "Embedding", "Example", "ExampleStatus", "Export", "Finding", "FindingStatus",
    "Job", "JobKind", "JobStatus", "LoginCounter", "Revision", "Role", "TaskType", "User", "utcnow",
]
