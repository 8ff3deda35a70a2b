"""The PII guard: finds card numbers, IBANs, SSNs, e-mail addresses and phone numbers and
redacts them, in text, in JSON-like documents and in a record's raw bytes.

Why a guard at all: the seed's trap is that PII typed into a chat or put into
``customProperties`` ends up in logs and exports. chatstate redacts before anything is stored,
logged or emitted, and reports *where* it found what kind, never the value itself.

False positives cost as much as misses (a redacted order number breaks a resumption), so each
detector is narrow (``_numbers``, ``_phone``), and the forms that carry no mark of their own (an
undashed SSN, a national phone number) count only where the field or the words say so
(``_context``). Text is normalised first (``_normalise``: NFKC, format characters removed, any
script's digits and spaces) and the replacement lands on the original. The guard is pure: no
I/O, no clock. The property tests in ``tests/unit/core/test_pii_guard_*.py`` state what
"every" and "never" mean here; ``docs/contracts.md`` says what it finds and never touches.
"""

from processor.core.pii._bytes import redact_bytes
from processor.core.pii._numbers import iban_valid, luhn_valid
from processor.core.pii._scan import Finding, Policy, ScanResult, format_findings, scan
from processor.core.pii._text import DEFAULT_REGION, REDACTED, PiiKind, redact_text

__all__ = [
    "DEFAULT_REGION",
    "REDACTED",
    "Finding",
    "PiiKind",
    "Policy",
    "ScanResult",
    "format_findings",
    "iban_valid",
    "luhn_valid",
    "redact_bytes",
    "redact_text",
    "scan",
]
