"""The training view of one pair: rendered with the dataset's target tokenizer and chat template, with the
tokens a trainer learns from marked (`app/exports/chat_view.py`). Read-only."""

from sqlalchemy import select
from sqlmodel import Session

from app.config import Settings
from app.errors import InvalidInput, NotFound
from app.exports.base import ExportRow
from app.exports.chat_view import FORMAT_MODE, MODES, TrainingView, training_view
from app.models import Example
from app.services.common import get_or_not_found
from app.services.datasets import get_dataset
from app.embeddings.target_tokenizer import TokenizerUnavailable, for_dataset


def _row(example: Example) -> ExportRow:
    return ExportRow(id=example.id, system=example.system, input=example.input, output=example.output,
                     history=example.history, label=example.label, weight=example.weight, status=example.status,
                     input_hash=example.input_hash)


def _view(session: Session, example: Example, mode: str, settings: Settings) -> TrainingView:
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of: {', '.join(MODES)}", field="mode")
    dataset = get_dataset(session, example.dataset_id)
    try:
        tokenizer = for_dataset(dataset.settings, settings)
    except TokenizerUnavailable as exc:
        raise InvalidInput(str(exc), field="settings.tokenizer") from None
    tools = (example.meta or {}).get("tools") if example.history else None
    return training_view(_row(example), tokenizer, mode, tools if isinstance(tools, list) else None)


def example_training_view(session: Session, example_id: int, mode: str, settings: Settings) -> TrainingView:
    return _view(session, get_or_not_found(session, Example, example_id, "example"), mode, settings)


def export_sample_view(session: Session, dataset_id: int, format_name: str, settings: Settings
                       ) -> tuple[Example, TrainingView]:
    """The dataset's first pair (the richest of the first 50: most turns), as the format's trainer trains on it."""
    get_dataset(session, dataset_id)
    candidates = session.scalars(select(Example).where(Example.dataset_id == dataset_id)
                                 .order_by(Example.id).limit(50)).all()
    if not candidates:
        raise NotFound(f"dataset {dataset_id} has no example")
    example = max(candidates, key=lambda e: (len(e.history or ()), bool(e.system), -e.id))
    return example, _view(session, example, FORMAT_MODE.get(format_name, "assistant"), settings)
