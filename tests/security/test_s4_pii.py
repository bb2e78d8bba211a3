"""S4: personal data — detected by name and by sampled values on real PostgreSQL and SQLite,
decoys left alone; the advice's SQL (column privileges, masking view, pgcrypto, retention)
runs on PostgreSQL and does what it says."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.sampling import Sampler
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding
from dbarchitect.security.auditlog import audit_log
from dbarchitect.security.pii import PiiColumn, detect_pii
from dbarchitect.security.pii_advice import pii_advice
from dbarchitect.security.pii_values import (
    is_card,
    is_iban,
    is_phone,
    is_phone_digits,
    is_ssn,
    luhn_ok,
)
from dbarchitect.security.tenancy import find_tenancy
from dbarchitect.sources import introspect_url
from tests.conftest import realworld_files, realworld_manifest

PG_TABLES = """
CREATE TABLE tenants (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE customers (
    id bigint PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    first_name text NOT NULL,
    last_name text,
    email text NOT NULL UNIQUE,
    email_verified boolean NOT NULL DEFAULT false,
    phone text,
    phone_model text,
    date_of_birth date,
    ssn text,
    home_address text,
    signup_ip inet,
    password text,
    notes text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    contact text,
    ref text,
    payout text,
    origin text,
    callback text,
    credential text,
    order_number text,
    label text,
    password_hash text,
    api_token text,
    lat double precision,
    lng double precision
);
CREATE TABLE products (id bigint PRIMARY KEY, name text, sku text, price numeric);
CREATE TABLE threepids (id bigint PRIMARY KEY, medium text, address text);
CREATE TABLE reviews (id bigint PRIMARY KEY, stars int, comment text);
CREATE TABLE legacy_users (id bigint PRIMARY KEY, login text NOT NULL, passwd text NOT NULL);
"""
# The same tables as SQLite declares them.
SQLITE_TABLES = (
    PG_TABLES.replace("bigint", "INTEGER")
    .replace("boolean", "BOOLEAN")
    .replace("timestamptz", "TIMESTAMP")
    .replace("inet", "TEXT")
    .replace("DEFAULT now()", "DEFAULT CURRENT_TIMESTAMP")
    .replace("double precision", "REAL")
)
BCRYPT = "$2b$12$" + "abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
ROWS = """
INSERT INTO tenants VALUES (1, 'acme');
INSERT INTO customers (id, tenant_id, first_name, last_name, email, phone, phone_model,
                       date_of_birth, ssn, home_address, signup_ip, password, notes, created_at)
VALUES
 (1, 1, 'Ada', 'Lovelace', 'ada@example.com', '+44 20 7946 0958', 'iPhone 12', '1815-12-10',
  '078-05-1120', '12 St James Sq, London', '192.0.2.10', 'hunter2', 'VIP', '2020-01-01'),
 (2, 1, 'Alan', 'Turing', 'alan@example.org', '+44 161 496 0000', 'Pixel 7', '1912-06-23',
  '219-09-9999', '1 Bletchley Park', '198.51.100.7', '{h}', NULL, '2020-01-01'),
 (3, 1, 'Grace', 'Hopper', 'grace@example.net', '(415) 555-0199', 'Nokia 3310', '1906-12-09',
  '123-45-6789', '3 Navy Yard, Arlington', '2001:db8::1', '{h}', 'met at conf',
  '2099-01-01');
INSERT INTO accounts VALUES
 (1, 'ops@example.com', '4111111111111111', 'GB82WEST12345698765432', '10.0.0.1',
  '+1 415 555 0100', '{h}', '4111111111111112', 'Blue plan', '{h}', 'tok_a1', 51.5, -0.12),
 (2, 'billing@example.org', '5555555555554444', 'DE89370400440532013000', '10.0.0.2',
  '+33 1 23 45 67 89', '{h}', '4111111111111113', 'Gold plan', '{h}', 'tok_b2', 48.8, 2.35),
 (3, 'help@example.net', '378282246310005', 'NL91ABNA0417164300', '172.16.5.4',
  '+49 30 901820', '{h}', '5105105105105101', 'Red plan', '{h}', 'tok_c3', 40.7, -74.0),
 (4, 'x@example.co.uk', '6011111111111117', 'FR1420041010050500013M02606', '::1',
  '+81 3 1234 5678', '{h}', '6011111111111118', 'Free plan', '{h}', 'tok_d4', 35.6, 139.7);
INSERT INTO legacy_users VALUES (1, 'ada', '9dd4e461268c8034f5c8564e155c67a6'),
 (2, 'alan', '415290769594460e2e485922904f345d'),
 (3, 'grace', 'fbade9e36a3f36d3d676c1b808451dd7');
INSERT INTO threepids VALUES (1, 'email', 'a@example.com'), (2, 'email', 'b@example.com'),
 (3, 'email', 'c@example.com');
INSERT INTO reviews VALUES (1, 5, 'great'), (2, 1, 'meh'), (3, 4, NULL);
INSERT INTO products VALUES (1, 'Ada Lovelace poster', 'SKU-1', 9.5), (2, 'Mug', 'SKU-2', 5),
 (3, 'Pen', 'SKU-3', 1);
""".replace("{h}", BCRYPT)

BY_NAME = [
    ("public.accounts", "api_token", "secret"),
    ("public.accounts", "lat", "geolocation"),
    ("public.accounts", "lng", "geolocation"),
    ("public.accounts", "password_hash", "secret"),
    ("public.customers", "date_of_birth", "date_of_birth"),
    ("public.customers", "email", "email"),
    ("public.customers", "first_name", "person_name"),
    ("public.customers", "home_address", "postal_address"),
    ("public.customers", "last_name", "person_name"),
    ("public.customers", "notes", "free_text"),
    ("public.customers", "password", "secret"),
    ("public.customers", "phone", "phone"),
    ("public.customers", "signup_ip", "ip_address"),
    ("public.customers", "ssn", "national_id"),
    ("public.legacy_users", "passwd", "secret"),
    ("public.reviews", "comment", "free_text"),
    ("public.threepids", "address", "postal_address"),
]
BY_VALUE = [
    ("public.accounts", "callback", "phone"),
    ("public.accounts", "contact", "email"),
    ("public.accounts", "credential", "secret"),
    ("public.accounts", "origin", "ip_address"),
    ("public.accounts", "payout", "iban"),
    ("public.accounts", "ref", "payment_card"),
]
# With a sample the values overrule a name: this `address` holds emails.
SAMPLED = sorted(
    [t for t in BY_NAME if t[0] != "public.threepids"]
    + BY_VALUE
    + [("public.threepids", "address", "email")]
)


def _triples(found: list[PiiColumn], prefix: str = "") -> list[tuple[str, str, str]]:
    return [(prefix + p.table, p.column, p.kind) for p in found]


@pytest.fixture
def pg_loaded(pg_url: DatabaseURL) -> Iterator[tuple[DatabaseURL, Schema]]:
    get_dialect("postgres").engine().run_script(pg_url, PG_TABLES + ROWS)
    yield pg_url, introspect_url(pg_url)


def test_validators_accept_real_values_and_refuse_near_misses() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert is_card("4111 1111 1111 1111") and not is_card("1000200030004000")
    assert is_iban("GB82 WEST 1234 5698 7654 32") and not is_iban("GB82WEST12345698765433")
    assert is_ssn("078-05-1120") and not is_ssn("666-12-3456") and not is_ssn("123-00-4567")
    assert is_phone("+44 20 7946 0958") and not is_phone("20240117") and not is_phone("+12")
    # Under a phone-like name, bare digit runs confirm it (Pagila's address.phone).
    assert is_phone_digits("14033335568") and not is_phone_digits("12345")


def test_detects_pii_by_name_and_by_values_on_postgres(
    pg_loaded: tuple[DatabaseURL, Schema],
) -> None:
    url, schema = pg_loaded
    assert _triples(detect_pii(schema)) == BY_NAME
    d = get_dialect("postgres")
    with d.engine().connect(url, read_only=True) as session:
        found = detect_pii(schema, Sampler(session, d))
    assert _triples(found) == SAMPLED
    got = {(p.table.split(".")[1], p.column): p for p in found}
    assert got["customers", "email"].confidence == 0.95
    assert got["customers", "email"].evidence == (
        "name matches 'email'",
        "3/3 sampled values are email addresses",
    )
    assert got["accounts", "ref"].evidence == ("4/4 sampled values are card numbers passing Luhn",)
    assert got["accounts", "ref"].confidence == 0.9
    assert got["customers", "ssn"].evidence[1] == "3/3 sampled values are US SSNs"
    assert got["customers", "notes"].confidence == 0.4
    assert got["threepids", "address"].evidence == (
        "name matches 'address'",
        "3/3 sampled values are email addresses",
    )


def test_detects_the_same_on_sqlite(sqlite_url: DatabaseURL) -> None:
    d = get_dialect("sqlite")
    d.engine().run_script(sqlite_url, SQLITE_TABLES + ROWS)
    schema = introspect_url(sqlite_url)
    assert _triples(detect_pii(schema), "public.") == BY_NAME
    with d.engine().connect(sqlite_url, read_only=True) as session:
        found = detect_pii(schema, Sampler(session, d))
    assert _triples(found, "public.") == SAMPLED
    with pytest.raises(InputError, match="PostgreSQL only"):
        pii_advice(schema)
    with pytest.raises(InputError, match="PostgreSQL only"):
        audit_log(schema)


def _fix(findings: list[Finding], rule: str, obj: str) -> str:
    hit = [f for f in findings if f.rule == rule and f.object == obj]
    assert len(hit) == 1, (rule, obj, [f"{f.rule} {f.object}" for f in findings])
    assert hit[0].fix is not None
    return hit[0].fix


def test_advice_sql_runs_and_protects_the_columns(pg_loaded: tuple[DatabaseURL, Schema]) -> None:
    url, _ = pg_loaded
    role = f"s4_support_{uuid.uuid4().hex[:10]}"
    engine = get_dialect("postgres").engine()
    with engine.connect(url, read_only=False) as s:
        s.execute(f"CREATE ROLE {role}; GRANT USAGE ON SCHEMA public TO {role};")
        s.execute(f"GRANT SELECT ON customers, accounts TO {role}")
    try:
        schema = introspect_url(url)
        d = get_dialect("postgres")
        with engine.connect(url, read_only=True) as session:
            findings = pii_advice(schema, sampler=Sampler(session, d), tenancy=find_tenancy(schema))
        rules = sorted({(f.rule, f.object, f.severity) for f in findings if f.severity != "info"})
        # One plaintext password column (bcrypt columns pass); the granted tables are warned.
        assert rules == [
            ("secure-pii-column-privileges", "public.accounts", "warning"),
            ("secure-pii-column-privileges", "public.customers", "warning"),
            ("secure-pii-plaintext-password", "public.customers.password", "error"),
            ("secure-pii-plaintext-password", "public.legacy_users.passwd", "error"),
        ]
        assert all(f.rule.startswith("secure-pii-") for f in findings)
        # A table whose only personal data is a low-confidence free-text column is listed, not
        # advised on; the threepids table is (its address holds emails).
        assert {f.object for f in findings if f.kind == "table"} == {
            "public.accounts",
            "public.customers",
            "public.legacy_users",
            "public.threepids",
        }
        weak = {f.object: f.message for f in findings if f.rule == "secure-pii-plaintext-password"}
        assert weak["public.customers.password"].endswith(
            "1 of 3 sampled values are not password hashes"
        )
        assert weak["public.legacy_users.passwd"].endswith(
            "3 of 3 sampled values are unsalted hex digests (md5/sha)"
        )
        lookups = sorted(f.object for f in findings if f.rule == "secure-pii-hash-lookup")
        assert lookups == [
            "public.accounts.callback",
            "public.accounts.contact",
            "public.customers.email",
            "public.customers.phone",
            "public.customers.ssn",
            "public.threepids.address",
        ]
        encrypted = sorted(f.object for f in findings if f.rule == "secure-pii-encrypt")
        assert encrypted == [
            "public.accounts.api_token",
            "public.accounts.payout",
            "public.accounts.ref",
            "public.customers.date_of_birth",
            "public.customers.home_address",
            "public.customers.ssn",
        ]
        assert "md5" not in "".join(f.fix or "" for f in findings if "hash" in f.rule)

        grant = _fix(findings, "secure-pii-column-privileges", "public.customers")
        view = _fix(findings, "secure-pii-masking-view", "public.customers")
        with engine.connect(url, read_only=False) as s:
            s.execute(grant)
            s.execute(view)
            s.execute(f"SET ROLE {role}")
            s.execute("SET app.tenant_id = '1'")
            assert s.fetch("SELECT id, email_verified FROM customers ORDER BY id")[0]["id"] == 1
            for col in ("email", "ssn", "password", "first_name"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    s.execute(f"SELECT {col} FROM customers")
            masked = s.fetch(
                "SELECT email, phone, ssn, first_name, date_of_birth, password, phone_model "
                "FROM customers_masked ORDER BY id"
            )
            s.execute("RESET ROLE")
        assert masked[0]["email"] == "a***@example.com"
        assert masked[0]["phone"] == "***0958" and masked[0]["ssn"] == "***1120"
        assert masked[0]["first_name"] == "A***" and masked[0]["password"] is None
        assert str(masked[0]["date_of_birth"]) == "1815-01-01"
        assert masked[0]["phone_model"] == "iPhone 12"  # decoys pass through untouched
        assert len(masked) == 3

        with engine.connect(url, read_only=False) as s:
            # Without the key the fix fails closed (and, one implicit transaction, changes nothing).
            with pytest.raises(psycopg.errors.UndefinedObject, match=r"app\.pii_key"):
                s.execute(_fix(findings, "secure-pii-encrypt", "public.customers.ssn"))
            s.execute("SET app.pii_key = 'k3y'")
            s.execute(_fix(findings, "secure-pii-encrypt", "public.customers.ssn"))
            s.execute(_fix(findings, "secure-pii-hash-lookup", "public.customers.email"))
            back = s.fetch(
                "SELECT extensions.pgp_sym_decrypt(ssn_enc, 'k3y') AS ssn, "
                "email_hmac = extensions.hmac('ada@example.com', 'k3y', 'sha256') AS same "
                "FROM customers WHERE id = 1"
            )
            assert back == [{"ssn": "078-05-1120", "same": True}]
            s.execute(_fix(findings, "secure-pii-plaintext-password", "public.customers.password"))
            hashed = s.fetch("SELECT password FROM customers ORDER BY id")
            s.execute(_fix(findings, "secure-pii-plaintext-password", "public.legacy_users.passwd"))
            wrapped = s.fetch(
                "SELECT passwd = extensions.crypt(md5('x'), passwd) AS ok FROM legacy_users "
                "WHERE id = 1"
            )
            s.execute(_fix(findings, "secure-pii-plaintext-password", "public.customers.password"))
            assert s.fetch("SELECT password FROM customers ORDER BY id") == hashed  # idempotent
            s.execute(_fix(findings, "secure-pii-retention", "public.customers"))
            old = s.fetch("SELECT email, last_name, password FROM customers ORDER BY id")
        assert old[0]["email"].startswith("anonymised-") and old[0]["last_name"] is None
        assert old[2]["email"] == "grace@example.net"  # created 2099: kept
        assert old[0]["password"] is None
        assert wrapped == [{"ok": True}]
        assert [r["password"][:4] for r in hashed] == ["$2a$", "$2b$", "$2b$"]  # hunter2 rehashed
    finally:
        with engine.connect(url, read_only=False) as s:
            s.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_pagila_real_data(pg_url: DatabaseURL) -> None:
    """Pagila's people: 12 columns by name, confirmed by its data where rows suffice, and its
    staff passwords (bare sha1 digests) are an error."""
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == "pagila")
    d = get_dialect("postgres")
    url = d.engine().load_files(pg_url, [Path(f) for f in realworld_files(dataset)])
    schema = introspect_url(url)
    with d.engine().connect(url, read_only=True) as session:
        found = detect_pii(schema, Sampler(session, d))
        findings = pii_advice(schema, found, sampler=Sampler(session, d))
    assert [(p.table, p.column, p.kind, p.confidence) for p in found] == [
        ("public.actor", "first_name", "person_name", 0.8),
        ("public.actor", "last_name", "person_name", 0.8),
        ("public.address", "address", "postal_address", 0.7),
        ("public.address", "phone", "phone", 0.95),
        ("public.address", "postal_code", "postal_address", 0.7),
        ("public.customer", "email", "email", 0.95),
        ("public.customer", "first_name", "person_name", 0.8),
        ("public.customer", "last_name", "person_name", 0.8),
        ("public.staff", "email", "email", 0.8),  # 2 rows: too few to judge
        ("public.staff", "first_name", "person_name", 0.8),
        ("public.staff", "last_name", "person_name", 0.8),
        ("public.staff", "password", "secret", 0.8),
    ]
    errors = [(f.object, f.message) for f in findings if f.severity == "error"]
    assert errors == [
        (
            "public.staff.password",
            "passwords in password are not stored as slow salted hashes: "
            "2 of 2 sampled values are unsalted hex digests (md5/sha)",
        )
    ]
