"""Checks of the website and e-mail fields of the places/*.csv files.

The DILA directory lost the "/" after the domain of some addresses
(`http://www2.ac-lyon.frorientation/rhone/lyon-est`). Such a value is not
repaired, because the lost character cannot be guessed with certainty: the
importer drops the field and keeps the row.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["TOP_LEVEL_DOMAINS", "is_valid_email", "is_valid_host", "is_valid_website"]

# Closed list of the top-level domains accepted in a website or e-mail address.
# It has those of the place files (fr, com, org, net, eu, info, re, bzh, alsace,
# corsica), the other French overseas ones, a few French regional ones and those
# of the French-speaking neighbours. Add a domain here when a new source uses it.
TOP_LEVEL_DOMAINS = frozenset(
    """
    fr com org net eu info
    re gp mq gf yt nc pf pm wf bl mf tf
    bzh paris alsace corsica
    be ch lu mc
    """.split()
)

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_WHITESPACE = re.compile(r"\s")


def is_valid_host(host: str) -> bool:
    """Tell whether a host name has at least two labels and ends with a known top-level domain.

    Internationalised names are checked in their IDNA (punycode) form.
    """
    if not host or host.endswith("."):
        return False
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return False
    return labels[-1] in TOP_LEVEL_DOMAINS


def is_valid_website(url: str) -> bool:
    """Tell whether a website is an http or https URL with a valid host and no whitespace.

    A user name or password in the URL is rejected, because a public page needs none.
    """
    if not url or _WHITESPACE.search(url):
        return False
    try:
        parts = urlsplit(url)
        # Reading the port raises ValueError when it is not a number.
        parts.port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc:
        return False
    return is_valid_host(parts.hostname or "")


def is_valid_email(address: str) -> bool:
    """Tell whether an e-mail address has the shape local-part@host with a valid host.

    The local part follows the dot-atom form of RFC 5322 (no quoted strings).
    """
    if not address or _WHITESPACE.search(address) or address.count("@") != 1:
        return False
    local_part, host = address.split("@")
    if len(local_part) > 64 or not _EMAIL_LOCAL_PART.match(local_part):
        return False
    return is_valid_host(host)
