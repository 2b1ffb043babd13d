"""The kinds of dataset Winnow knows. A leaf module: checks, formats and models all read it."""

from enum import StrEnum


class TaskType(StrEnum):
    generation = "generation"
    # The output is the label (one of the dataset's label set).
    classification = "classification"
    # Pairs of answers to one prompt: `output` the chosen one, `rejected` the other (or a KTO label).
    preference = "preference"


ALL_TASK_TYPES = frozenset(TaskType)
# The task types with one answer per prompt (supervised fine-tuning).
SFT_TASK_TYPES = frozenset({TaskType.generation, TaskType.classification})
PREFERENCE_TASK_TYPES = frozenset({TaskType.preference})
