"""Tables of the knowledge base (SQLAlchemy declarative models).

The importer fills every table except `import_runs` from the open data files, in
one transaction, so the content always matches one set of source files.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

__all__ = [
    "ALIAS_KINDS",
    "Base",
    "Commune",
    "CommuneAlias",
    "Departement",
    "ImportRun",
    "Place",
    "PostalCode",
    "Training",
]

Base = declarative_base()

# Values of CommuneAlias.kind.
ALIAS_KINDS = ("official", "former_name", "locality", "delegated", "associated")


class Departement(Base):
    """A département or an overseas collectivité, with its académie and chef-lieu."""

    __tablename__ = "departements"

    code = Column(String(3), primary_key=True)
    name = Column(String(80), nullable=False)
    region_code = Column(String(3))
    region_name = Column(String(80))
    academie_code = Column(String(3))
    academie_name = Column(String(80))
    zone = Column(String(8))
    # INSEE code of the chef-lieu commune (préfecture), from departements.json.
    chef_lieu_code = Column(String(5))


class Commune(Base):
    """One object of the official commune list (COG 2026).

    The INSEE code is not unique: a commune déléguée can carry the code of the
    commune it belongs to (93066 is both Saint-Denis and its déléguée). The pair
    (insee_code, type) is unique.
    """

    __tablename__ = "communes"
    __table_args__ = (
        UniqueConstraint("insee_code", "type", name="uq_communes_insee_type"),
        Index("ix_communes_insee_code", "insee_code"),
        Index("ix_communes_departement_code", "departement_code"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    insee_code = Column(String(5), nullable=False)
    name = Column(String(120), nullable=False)
    # commune-actuelle, commune-deleguee, commune-associee or arrondissement-municipal.
    type = Column(String(32), nullable=False)
    # Chef-lieu of a déléguée/associée, or the city of an arrondissement.
    parent_code = Column(String(5))
    departement_code = Column(String(3), nullable=False)
    departement_name = Column(String(80))
    region_code = Column(String(3))
    region_name = Column(String(80))
    academie_code = Column(String(3))
    academie_name = Column(String(80))
    # Postal codes joined with "|" (empty for déléguées and associées).
    postal_codes = Column(String(200), nullable=False, default="")
    population = Column(Integer)
    latitude = Column(Float)
    longitude = Column(Float)
    # Where the coordinates come from; "parent_commune:<code>" when they are the
    # parent's coordinates, "unknown" when there are none.
    coord_source = Column(String(80), nullable=False)
    # Former INSEE codes (anciensCodes of communes.json) joined with "|".
    former_codes = Column(Text, nullable=False, default="")


class PostalCode(Base):
    """A (postal code, commune) pair. CEDEX codes are not included."""

    __tablename__ = "postal_codes"
    __table_args__ = (
        UniqueConstraint("postal_code", "insee_code", name="uq_postal_codes_pair"),
        Index("ix_postal_codes_postal_code", "postal_code"),
        Index("ix_postal_codes_insee_code", "insee_code"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    postal_code = Column(String(5), nullable=False)
    insee_code = Column(String(5), nullable=False)
    commune_name = Column(String(120), nullable=False)
    commune_type = Column(String(32), nullable=False)
    departement_code = Column(String(3), nullable=False)


class CommuneAlias(Base):
    """A name that designates a current commune or arrondissement.

    `kind` is one of ALIAS_KINDS: "official" (current name), "former_name" (a
    merged commune or an old INSEE code), "delegated"/"associated" (name of a
    commune déléguée/associée), "locality" (a La Poste `ligne_5` place inside the
    commune that is not a former commune name).
    """

    __tablename__ = "commune_aliases"
    __table_args__ = (
        UniqueConstraint("alias_normalized", "insee_code", "kind", name="uq_commune_aliases"),
        Index("ix_commune_aliases_alias_normalized", "alias_normalized"),
        Index("ix_commune_aliases_insee_code", "insee_code"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    alias_normalized = Column(String(200), nullable=False)
    alias = Column(String(200), nullable=False)
    # INSEE code of the current commune or arrondissement the alias designates.
    insee_code = Column(String(5), nullable=False)
    kind = Column(String(16), nullable=False)
    source = Column(String(80), nullable=False)


class Place(Base):
    """A place for young people: every column of the places/*.csv files.

    `type` comes from the file's own `type` column (mission_locale, cio, e2c...).
    An invalid `website` or `email` of the file is stored as NULL.
    """

    __tablename__ = "places"
    __table_args__ = (
        Index("ix_places_type", "type"),
        Index("ix_places_code_insee", "code_insee"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    type = Column(String(40), nullable=False)
    name = Column(String(300), nullable=False)
    address = Column(Text)
    postal_code = Column(String(10))
    commune = Column(String(120))
    code_insee = Column(String(5), nullable=False)
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)
    coord_source = Column(String(40))
    phone = Column(String(40))
    email = Column(String(200))
    website = Column(Text)
    source = Column(Text)
    source_date = Column(String(10))
    # File name under places/, kept to trace a row back to its source file.
    source_file = Column(String(120), nullable=False)
    # False when postal_code is a regular postal code that does not belong to the
    # row's commune (see knowledge.loaders.places.address_checked).
    address_checked = Column(Boolean, nullable=False, default=True)


class Training(Base):
    """A kind of training from the Onisep catalogue "Idéo-Formations initiales en France".

    The catalogue lists diplomas and titles, not places where they are taught.
    """

    __tablename__ = "trainings"
    __table_args__ = (Index("ix_trainings_type_acronym", "type_acronym"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    cnis_code = Column(String(20))
    # "sigle type formation" (CAP, TP, MC, BP...), often empty (bac pro, licence...).
    type_acronym = Column(String(40))
    type_label = Column(String(200))
    name = Column(Text, nullable=False)
    acronym = Column(String(80))
    duration = Column(String(40))
    rncp_code = Column(String(20))
    # Onisep's own RNCP level code ("5" is "niveau 3 (niveau CAP)").
    rncp_level_code = Column(String(4))
    rncp_level_label = Column(String(80))
    # Level of the current RNCP nomenclature (3 = CAP ... 8 = doctorate), read from
    # the label; None when the training is not in the RNCP.
    level = Column(Integer)
    supervision = Column(String(200))
    onisep_url = Column(String(300))
    domains = Column(Text)
    # Normalised name + domains, used by the training search.
    search_text = Column(Text, nullable=False)


class ImportRun(Base):
    """One run of the importer, successful or not."""

    __tablename__ = "import_runs"

    id = Column(Integer, primary_key=True, autoincrement=True)
    # SHA-256 over the path, size and content hash of every source file.
    fingerprint = Column(String(64), nullable=False)
    data_dir = Column(Text, nullable=False)
    started_at = Column(DateTime(timezone=True), nullable=False)
    finished_at = Column(DateTime(timezone=True))
    # running, succeeded or failed.
    status = Column(String(16), nullable=False)
    # JSON text: per-file counts (read, kept, rejected per reason) or the error.
    summary = Column(Text)
