"""Turn uploaded files into pairs: format detection, parsing, per-line errors.

Nothing here touches the database: `app/services/imports.py` writes what these yield.
"""

from app.importers.registry import FORMATS, detect_format
from app.importers.reader import FileKind, ImportSource, LineError, ParsedPair, iter_pairs, open_source

__all__ = ["FORMATS", "FileKind", "ImportSource", "LineError", "ParsedPair", "detect_format", "iter_pairs", "open_source"]
