"""The kinds of dataset Winnow knows. A leaf module: checks, formats and models all read it."""

from enum import StrEnum


class TaskType(StrEnum):
    generation = "generation"
    # The output is the label (one of the dataset's label set).
    classification = "classification"


ALL_TASK_TYPES = frozenset(TaskType)
