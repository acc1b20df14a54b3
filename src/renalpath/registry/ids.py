"""The character set of registry record ids (patient, tumour, intervention, … ids).

An id is 1 to 64 characters from the ASCII letters, the digits and `.`, `_`, `-`; it starts
with a letter or a digit.  Anything wider let ids carry markup, spreadsheet formulas,
right-to-left overrides, zero-width characters, line breaks or `/` (which made the record
unreachable by URL).  The import and the API check the same predicate, so an id that can be
written can also be addressed, exported and typed back.
"""

from __future__ import annotations

import re

RECORD_ID_MAX = 64
RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
RECORD_ID_RULE = (
    "1–64 characters: ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
)
_RECORD_ID = re.compile(RECORD_ID_PATTERN)


def is_valid_record_id(value: str) -> bool:
    """Whether `value` is a record id of the documented character set (see the module)."""
    return _RECORD_ID.fullmatch(value) is not None  # fullmatch: no trailing newline slips by
