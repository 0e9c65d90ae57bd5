"""The Facebook pages served by the channel, read from a YAML file.

The file lists each page with the name of the environment variable that
contains its access token, so that no secret is written in it. A local page
also names the territory it serves::

    pages:
      - id: "111111111111111"
        name: Seconde chance
        access_token_env: MESSENGER_TOKEN_NATIONAL
      - id: "222222222222222"
        name: Seconde chance Lyon
        access_token_env: MESSENGER_TOKEN_LYON
        territory:
          label: Lyon
          communes: ["69123"]

A territory is either ``departement: "69"`` or ``communes: [INSEE codes]``,
with an optional ``label``. The channel passes it to Rasa in the message
metadata, so that the bot searches there when the user asks for places
« près de chez moi ».
"""

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Text, Tuple

import yaml

from connectors.messenger.ids import is_numeric_id

logger = logging.getLogger(__name__)

# Département codes: 01-95 with 2A/2B, and 971-976 overseas.
_DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-6])$")
# INSEE commune codes: 5 characters, 2A/2B for Corsica.
_COMMUNE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_LABEL_CHARS = 100
# Communes of a territory; the bot (bot/actions/lookup.py) offers as many.
MAX_TERRITORY_COMMUNES = 10


class PagesConfigError(ValueError):
    """The pages file is missing or invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Territory:
    """The area a local page serves: a département or a list of communes."""

    departement: Optional[Text] = None
    communes: Tuple[Text, ...] = ()
    label: Optional[Text] = None

    def to_metadata(self) -> Dict[Text, Any]:
        """Return the territory as the bot reads it: ``{"departement": "69"}`` or ``{"communes": [...]}``, with ``label``."""
        data: Dict[Text, Any] = (
            {"departement": self.departement} if self.departement else {"communes": list(self.communes)}
        )
        if self.label:
            data["label"] = self.label
        return data


@dataclass(frozen=True)
class Page:
    """One Facebook page, its access token and its territory (None for a national page)."""

    page_id: Text
    name: Text
    token_variable: Text
    access_token: Text = field(repr=False)
    territory: Optional[Territory] = None

    def metadata(self) -> Dict[Text, Any]:
        """Return the metadata the channel attaches to every message sent to this page."""
        data: Dict[Text, Any] = {"page_id": self.page_id}
        if self.territory is not None:
            data["territory"] = self.territory.to_metadata()
        return data


def load_pages(path: Text, environ: Optional[Mapping[Text, Text]] = None) -> Dict[Text, Page]:
    """Read the pages file.

    A page whose token variable is unset or empty is left out with an error
    in the log, so that the other pages keep working.

    Args:
        path: The YAML file.
        environ: Where the token variables are read; the process environment by default.

    Returns:
        The pages by page id.

    Raises:
        PagesConfigError: The file cannot be read or an entry is invalid.
    """
    environ = os.environ if environ is None else environ
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PagesConfigError(f"cannot read the Messenger pages file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise PagesConfigError(f"the Messenger pages file {path} is not valid YAML: {error}") from None

    entries = raw.get("pages") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise PagesConfigError(f"the Messenger pages file {path} has no 'pages' list")

    pages: Dict[Text, Page] = {}
    for index, entry in enumerate(entries, start=1):
        where = f"{path}, page {index}"
        page = _read_page(entry, where, environ)
        if page is None:
            continue
        if page.page_id in pages:
            raise PagesConfigError(f"{where}: page id {page.page_id} is listed twice")
        pages[page.page_id] = page
    return pages


def _read_page(entry: Any, where: Text, environ: Mapping[Text, Text]) -> Optional[Page]:
    if not isinstance(entry, dict):
        raise PagesConfigError(f"{where}: expected a mapping with id and access_token_env")
    page_id = entry.get("id")
    if isinstance(page_id, int) and not isinstance(page_id, bool):
        page_id = str(page_id)
    if not is_numeric_id(page_id):
        raise PagesConfigError(f"{where}: id must be the page's numeric id, written as a string")
    variable = entry.get("access_token_env")
    if not isinstance(variable, str) or not _ENV_NAME.match(variable):
        raise PagesConfigError(f"{where}: access_token_env must name an environment variable")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise PagesConfigError(f"{where}: name must be a string")
    territory = _read_territory(entry.get("territory"), where)

    token = (environ.get(variable) or "").strip()
    if not token:
        logger.error(
            "Messenger page %s left out: its access token variable %s is unset or empty.", page_id, variable
        )
        return None
    return Page(page_id=page_id, name=name or page_id, token_variable=variable, access_token=token, territory=territory)


def _read_territory(value: Any, where: Text) -> Optional[Territory]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PagesConfigError(f"{where}: territory must be a mapping with departement or communes")
    unknown = set(value) - {"departement", "communes", "label"}
    if unknown:
        raise PagesConfigError(f"{where}: unknown territory key(s): {', '.join(sorted(map(str, unknown)))}")

    label = value.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS):
        raise PagesConfigError(f"{where}: territory label must be a non-empty string of at most {MAX_LABEL_CHARS} characters")
    label = label.strip() if label else None

    departement = value.get("departement")
    communes = value.get("communes")
    if (departement is None) == (communes is None):
        raise PagesConfigError(f"{where}: territory needs exactly one of departement or communes")
    if departement is not None:
        if not isinstance(departement, str) or not _DEPARTEMENT.match(departement):
            raise PagesConfigError(f"{where}: departement must be a code such as \"69\", \"2A\" or \"974\", as a string")
        return Territory(departement=departement, label=label)
    if not isinstance(communes, list) or not communes:
        raise PagesConfigError(f"{where}: communes must be a non-empty list of INSEE codes")
    if len(communes) > MAX_TERRITORY_COMMUNES:
        # The bot offers at most this many communes to choose from.
        raise PagesConfigError(
            f"{where}: {len(communes)} communes, more than {MAX_TERRITORY_COMMUNES}: give the département instead"
        )
    for code in communes:
        if not isinstance(code, str) or not _COMMUNE.match(code):
            raise PagesConfigError(f"{where}: {code!r} is not an INSEE commune code such as \"69123\" (write it as a string)")
    return Territory(communes=tuple(dict.fromkeys(communes)), label=label)
