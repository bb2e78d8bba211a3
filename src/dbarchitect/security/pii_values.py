"""Validators for sampled values: is this string an email, a card number, an IBAN…?

Each validator is strict enough that a column of unrelated values (order numbers, model names)
rarely passes: card numbers need the Luhn check digit and an issuer prefix, IBANs their mod-97
checksum, phone numbers a leading + or the usual punctuation.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

PiiKind = Literal[
    "email",
    "phone",
    "person_name",
    "postal_address",
    "date_of_birth",
    "national_id",
    "payment_card",
    "iban",
    "ip_address",
    "secret",
    "geolocation",
    "free_text",
]

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PHONE_INTL = re.compile(r"^\+[0-9][0-9 ().-]{6,20}$")
_PHONE_LOCAL = re.compile(r"^\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}$")
_SSN = re.compile(r"^(?!000|666|9)[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_CARD_CHARS = re.compile(r"^[0-9][0-9 -]{11,22}[0-9]$")
# Strong, salted password hashes: bcrypt, argon2, scrypt, sha-crypt, PBKDF2 (passlib, Django).
_STRONG_HASH = re.compile(
    r"^(\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"
    r"|\$argon2(id|i|d)\$\S+"
    r"|\$(scrypt|7)\$\S+"
    r"|\$[56]\$\S+"
    r"|\$pbkdf2(-sha\d+)?\$\S+"
    r"|(pbkdf2_sha\d+|argon2|bcrypt_sha256|scrypt)\$\S+)$"
)
_FAST_HASH = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$")


def as_text(value: Any) -> str | None:
    """A sampled value as the text a validator reads; None for values no validator reads
    (bytes, dates, JSON, booleans)."""
    if isinstance(value, (bool, bytes, bytearray, memoryview)):
        return None
    if isinstance(value, (date, datetime, dict, list)):
        return None
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value.ip)
    return None


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit of a card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _issuer(digits: str) -> bool:
    """A known card issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay)."""
    two, four = int(digits[:2]), int(digits[:4])
    return (
        digits[0] == "4"
        or 51 <= two <= 55
        or 2221 <= four <= 2720
        or two in (34, 37, 36, 38, 62, 65)
        or digits.startswith("6011")
        or 3528 <= four <= 3589
    )


def is_card(text: str) -> bool:
    """A payment card number: 13–19 digits (spaces or dashes allowed), issuer prefix, Luhn."""
    if not _CARD_CHARS.match(text):
        return False
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and _issuer(digits) and luhn_ok(digits)


def is_iban(text: str) -> bool:
    """An IBAN whose mod-97 checksum holds (spaces allowed)."""
    compact = text.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def is_phone(text: str) -> bool:
    """+ and 8–15 digits, or the (555) 123-4567 / 555-123-4567 forms; bare digit runs are not
    phones (they are as likely order numbers)."""
    digits = sum(ch.isdigit() for ch in text)
    if _PHONE_INTL.match(text):
        return 8 <= digits <= 15
    return bool(_PHONE_LOCAL.match(text))


def is_phone_digits(text: str) -> bool:
    """A phone number in a column already named as one: bare runs of 7–15 digits count too
    (Pagila stores 14033335568)."""
    compact = re.sub(r"[ ().-]", "", text)
    return is_phone(text) or bool(re.fullmatch(r"\+?[0-9]{7,15}", compact))


def is_ssn(text: str) -> bool:
    """A US social security number written ddd-dd-dddd, area/group/serial never zero."""
    return bool(_SSN.match(text))


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("/", 1)[0])
    except ValueError:
        return False
    return True


def is_strong_hash(text: str) -> bool:
    """A salted, slow password hash (bcrypt, argon2, scrypt, sha-crypt, PBKDF2)."""
    return bool(_STRONG_HASH.match(text))


def is_fast_hash(text: str) -> bool:
    """A bare hex digest (md5, sha1, sha256, sha512): unsalted and fast to brute-force."""
    return bool(_FAST_HASH.match(text))


# Kinds a value can prove on its own, in the order they are tried (most specific first).
VALIDATORS: tuple[tuple[PiiKind, Callable[[str], bool], str], ...] = (
    ("email", is_email, "email addresses"),
    ("payment_card", is_card, "card numbers passing Luhn"),
    ("iban", is_iban, "IBANs passing mod-97"),
    ("national_id", is_ssn, "US SSNs"),
    ("ip_address", is_ip, "IP addresses"),
    ("phone", is_phone, "phone numbers"),
    ("secret", is_strong_hash, "password hashes"),
)


# Looser checks that confirm a kind the column's name already gave.
CONFIRM: dict[str, Callable[[str], bool]] = {"phone": is_phone_digits}


def share(values: list[str], check: Callable[[str], bool]) -> tuple[int, int]:
    """(matching, total) over the non-empty values."""
    seen = [v for v in values if v]
    return sum(1 for v in seen if check(v)), len(seen)


__all__ = [
    "CONFIRM",
    "VALIDATORS",
    "PiiKind",
    "as_text",
    "is_card",
    "is_email",
    "is_fast_hash",
    "is_iban",
    "is_ip",
    "is_phone",
    "is_phone_digits",
    "is_ssn",
    "is_strong_hash",
    "luhn_ok",
    "share",
]
