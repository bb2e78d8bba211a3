"""Which columns hold personal data: by the column's name and type, and by a sample of its values.

A name alone is a guess (`phone_model` is not a phone, an `email_verified` boolean holds no
address), so names are read as tokens, decoy tokens veto, and every kind accepts only the types
its data can have. Values prove what names cannot: a `contact` column full of addresses, a
`ref` column of Luhn-valid card numbers. Works for every dialect (the Schema and a Sampler).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dbarchitect.engines.sampling import Sampler
from dbarchitect.model import Column, Schema, Table
from dbarchitect.security.pii_values import CONFIRM, VALIDATORS, PiiKind, as_text, share

SAMPLE_SIZE = 200
MIN_VALUES = 3  # fewer sampled values prove nothing
VALUE_SHARE = 0.8  # share of values that must pass a validator for values alone to decide

_TEXT = frozenset({"char", "varchar", "text"})
_NUMBER = frozenset({"smallint", "integer", "bigint", "decimal"})
_DATE = frozenset({"date", "timestamp", "timestamptz"})
_REAL = frozenset({"decimal", "real", "double"})
# Tokens that make a PII-looking name mean something else (phone_model, email_template…).
_DECOYS = frozenset(
    [
        "model",
        "type",
        "kind",
        "verified",
        "confirmed",
        "count",
        "status",
        "enabled",
        "template",
        "format",
        "provider",
        "brand",
        "hint",
        "policy",
        "length",
        "expires",
        "expiry",
        "expired",
        "attempts",
        "sent",
        "optin",
        "opt",
        "domain",
        "mac",
        "changed",
        "required",
        "visible",
        "public",
    ]
)
_PERSON_TABLES = frozenset(
    [
        "user",
        "users",
        "customer",
        "customers",
        "person",
        "people",
        "persons",
        "contact",
        "contacts",
        "employee",
        "employees",
        "member",
        "members",
        "patient",
        "patients",
        "student",
        "students",
        "author",
        "authors",
        "client",
        "clients",
        "staff",
        "profile",
        "profiles",
        "subscriber",
        "subscribers",
        "applicant",
        "applicants",
    ]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PiiColumn:
    """One column likely to hold personal data. `confidence` is 0–1; `evidence` says why
    (the name pattern, the share of sampled values a validator accepted)."""

    table: str
    column: str
    kind: PiiKind
    confidence: float
    evidence: tuple[str, ...]


def tokens(name: str) -> tuple[str, ...]:
    """A name's words: snake_case, camelCase and digits split, lower-cased."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return tuple(t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t)


def _kind_by_name(table: Table, column: Column) -> tuple[PiiKind, str, float] | None:
    """(kind, the pattern that matched, confidence) from the name and type, or None."""
    words = tokens(column.name)
    joined = "_".join(words)
    glued = "".join(words)
    w = set(words)
    logical = column.logical
    text = logical in _TEXT
    if w & _DECOYS or logical == "boolean":
        return None
    if (w & {"password", "passwd", "pwd", "secret", "token", "apikey", "passphrase"}) or any(
        k in glued for k in ("password", "apikey", "privatekey", "accesskey", "secretkey")
    ):
        if text or logical == "binary":
            return "secret", joined, 0.8
        return None
    if w & {"email", "mail", "emailaddress"} or "email" in glued:
        return ("email", joined, 0.8) if text else None
    if w & {"ip", "ipaddr", "ipv4", "ipv6"} or glued in ("remoteaddr", "ipaddress"):
        return ("ip_address", joined, 0.8) if text or column.type.lower() == "inet" else None
    if (
        any(k in glued for k in ("cardnumber", "cardno", "cardnum", "creditcard", "ccnum"))
        or "pan" in w
    ):
        return ("payment_card", joined, 0.8) if text or logical in _NUMBER else None
    if "iban" in w or "bankaccount" in glued:
        return ("iban", joined, 0.8) if text else None
    if w & {"ssn", "nin", "passport", "nric", "aadhaar", "cpf", "sin"} or any(
        k in glued
        for k in (
            "socialsecurity",
            "nationalid",
            "taxid",
            "taxpayer",
            "driverlicen",
            "driverslicen",
        )
    ):
        return ("national_id", joined, 0.8) if text or logical in _NUMBER else None
    if glued in ("dob", "birthday", "birthdate", "dateofbirth", "bornon") or "birth" in w:
        return ("date_of_birth", joined, 0.8) if text or logical in _DATE else None
    if w & {"phone", "mobile", "telephone", "tel", "fax", "msisdn", "cellphone"}:
        return ("phone", joined, 0.8) if text or logical in _NUMBER else None
    if glued in (
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "middlename",
        "surname",
        "forename",
        "maidenname",
        "contactname",
        "customername",
    ):
        return ("person_name", joined, 0.8) if text else None
    if glued in ("name", "displayname") and set(tokens(table.name)) & _PERSON_TABLES:
        return ("person_name", f"{joined} on {table.name}", 0.6) if text else None
    if w & {"address", "street", "postcode", "zip", "zipcode", "postal"} or "addressline" in glued:
        return ("postal_address", joined, 0.7) if text else None
    if w & {"lat", "latitude", "lng", "lon", "longitude"}:
        return ("geolocation", joined, 0.7) if logical in _REAL else None
    if w & {"geo", "geolocation", "coordinates", "coords", "location", "position"}:
        return ("geolocation", joined, 0.7) if logical == "geometric" else None
    if w & {"note", "notes", "comment", "comments", "remark", "remarks", "bio", "memo"}:
        return ("free_text", joined, 0.4) if text else None
    return None


def _values(sampler: Sampler, table: Table, column: Column) -> list[str]:
    texts = (as_text(v) for v in sampler(table, column, SAMPLE_SIZE))
    return [t for t in texts if t]


def _validator(kind: PiiKind) -> tuple[Callable[[str], bool], str] | None:
    """The value check that confirms a named kind. Secrets are left alone: an API token is
    random text, only a password column is expected to hold hashes (pii_advice checks it)."""
    for k, check, what in VALIDATORS:
        if k == kind and k != "secret":
            return CONFIRM.get(k, check), what
    return None


def _by_values(values: list[str]) -> tuple[PiiKind, int, int, str] | None:
    """The first kind most sampled values pass: (kind, matching, total, what they are)."""
    if len(values) < MIN_VALUES:
        return None
    for kind, check, what in VALIDATORS:
        hit, total = share(values, check)
        if total and hit / total >= VALUE_SHARE:
            return kind, hit, total, what
    return None


def _judge(
    table: Table, column: Column, sampler: Sampler | None
) -> tuple[PiiKind, float, tuple[str, ...]] | None:
    named = _kind_by_name(table, column)
    values: list[str] = []
    if sampler is not None and column.logical in _TEXT | _NUMBER | {"network"}:
        values = _values(sampler, table, column)
    shown = _by_values(values)
    if named is not None:
        kind, pattern, confidence = named
        evidence = [f"name matches {pattern!r}"]
        known = _validator(kind)
        if known and len(values) >= MIN_VALUES:
            check, what = known
            hit, total = share(values, check)
            evidence.append(f"{hit}/{total} sampled values are {what}")
            # Values confirm a name; a name whose values never pass is only half believed.
            confidence = 0.95 if hit / total >= VALUE_SHARE else min(confidence, 0.5)
            if hit / total >= VALUE_SHARE:
                return kind, confidence, tuple(evidence)
        if shown is not None and shown[0] != kind:
            # The values say what the name could not (Matrix's `address` holds emails).
            v_kind, hit, total, what = shown
            evidence = [f"name matches {pattern!r}", f"{hit}/{total} sampled values are {what}"]
            return v_kind, 0.9, tuple(evidence)
        return kind, confidence, tuple(evidence)
    if shown is None:
        return None
    v_kind, hit, total, what = shown
    return v_kind, round(0.5 + 0.4 * hit / total, 2), (f"{hit}/{total} sampled values are {what}",)


def detect_pii(schema: Schema, sampler: Sampler | None = None) -> list[PiiColumn]:
    """Columns likely to hold personal data, by name and type and, with a `sampler` (a live,
    read-only session), by a sample of up to 200 values per text or number column. Sorted
    by table and column; partitions are judged through their parent."""
    found: list[PiiColumn] = []
    for table in schema.tables:
        if table.partition_of is not None:
            continue
        for column in table.columns:
            judged = _judge(table, column, sampler)
            if judged is None:
                continue
            kind, confidence, evidence = judged
            found.append(
                PiiColumn(
                    table=table.qualified,
                    column=column.name,
                    kind=kind,
                    confidence=confidence,
                    evidence=evidence,
                )
            )
    return sorted(found, key=lambda p: (p.table, p.column))


__all__ = ["PiiColumn", "PiiKind", "detect_pii", "tokens"]
