"""Check the ``X-Hub-Signature-256`` header of Meta's webhook requests.

Meta signs the raw body of every webhook POST with the app secret
(HMAC-SHA256, lowercase hex, header value ``sha256=<hex>``). The check runs
on the bytes as received, never on re-encoded JSON.
"""

import hashlib
import hmac
import re
from typing import Optional, Text

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


def sign(app_secret: Text, body: bytes) -> Text:
    """Return the header value Meta sends for a body: ``sha256=`` and the HMAC-SHA256 in hex."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signature_problem(app_secret: Text, body: bytes, header: Optional[Text]) -> Optional[Text]:
    """Check a request's signature header.

    Args:
        app_secret: The Facebook app secret; an empty secret rejects every request.
        body: The raw request body.
        header: The value of ``X-Hub-Signature-256``, or None when it is missing.

    Returns:
        None when the signature matches, else the reason for the log.
    """
    if not app_secret:
        return "no app secret is configured"
    if header is None or not header.strip():
        return f"missing {SIGNATURE_HEADER} header"
    value = header.strip()
    if not value.startswith(_PREFIX) or not _HEX_DIGEST.match(value[len(_PREFIX):]):
        return f"malformed {SIGNATURE_HEADER} header"
    expected = sign(app_secret, body)
    if not hmac.compare_digest(expected, _PREFIX + value[len(_PREFIX):].lower()):
        return "signature does not match the body"
    return None
