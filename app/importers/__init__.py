"""Turn uploaded files into pairs: format detection, parsing, per-line errors.

Nothing here touches the database: `app/services/imports.py` writes what these yield.
"""

from app.importers.formats import FORMATS, detect_format
from app.importers.preference_formats import PREFERENCE_FORMATS
from app.importers.reader import FileKind, ImportSource, LineError, ParsedPair, iter_pairs, open_source

# Every import format by name, SFT and preference.
ALL_FORMATS = (*FORMATS, *PREFERENCE_FORMATS)

__all__ = ["ALL_FORMATS", "FORMATS", "PREFERENCE_FORMATS", "FileKind", "ImportSource", "LineError", "ParsedPair", "detect_format", "iter_pairs", "open_source"]
