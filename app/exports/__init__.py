"""Export formats (one module each, declaring `FORMAT`; see app/exports/registry.py) and split logic.

Contract the writer relies on (`app.exports.files.encode_lines`): for a plain pair (no system prompt,
history or weight) the record depends on the input and the output only as strings placed verbatim.
The writer encodes such pairs from a line template read off the encoder's record for marker texts
(none if the markers do not appear once each, input first; then every pair goes through the encoder);
tests/exports/test_formats.py checks that both ways give the same bytes for every format.
"""

from app.exports.base import Encoder, ExportFormat, ExportRow, ExportRows
from app.exports.registry import DEFAULT_FORMAT, FORMATS

__all__ = ["DEFAULT_FORMAT", "FORMATS", "Encoder", "ExportFormat", "ExportRow", "ExportRows"]
