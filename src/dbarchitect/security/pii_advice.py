"""What to do about personal data once found: column privileges, pgcrypto, masking views,
retention, and passwords that are not stored as slow salted hashes.

Every finding carries SQL that runs on PostgreSQL as written (the tests run it). Keys for
pgcrypto come from a session setting (`app.pii_key`), never from the SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence

from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.engines.sampling import Sampler
from dbarchitect.errors import InputError
from dbarchitect.model import Column, Schema, Table
from dbarchitect.review.finding import Finding
from dbarchitect.security.pii import PiiColumn, detect_pii, tokens
from dbarchitect.security.pii_values import as_text, is_fast_hash, is_strong_hash
from dbarchitect.security.tenancy import Tenancy

KEY_SETTING = "app.pii_key"
DEFAULT_READER = "app_readonly"
_REVERSIBLE = frozenset({"national_id", "payment_card", "iban", "date_of_birth", "postal_address"})
_LOOKUP = frozenset({"email", "phone", "national_id"})
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
_HASHED_WORDS = frozenset({"hash", "hashed", "digest", "crypt", "encrypted", "enc"})
_TIME_COLUMNS = ("created_at", "created", "inserted_at", "signed_up_at", "updated_at")


def _pgcrypto(schema: Schema) -> tuple[str, str]:
    """(the schema pgcrypto lives in, the SQL that installs it when it is missing)."""
    ext = next((e for e in schema.extensions if e.name == "pgcrypto"), None)
    if ext is not None and ext.schema:
        return ext.schema, ""
    # Not in public: the review flags extensions there (their functions can be shadowed).
    return "extensions", (
        "CREATE SCHEMA IF NOT EXISTS extensions;\n"
        "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n"
    )


def _key(setting: str) -> str:
    # Without missing_ok: a session that forgot the key fails instead of encrypting with ''.
    return f"current_setting({literal(setting)})"


def _mask(column: Column, kind: str) -> str:
    """An expression showing enough to recognise a value, not enough to use it."""
    c = quote(column.name)
    if kind == "email":
        return f"left({c}, 1) || '***@' || split_part({c}, '@', 2)"
    if kind in ("phone", "payment_card", "iban", "national_id"):
        return f"'***' || right({c}::text, 4)"
    if kind == "person_name":
        return f"left({c}, 1) || '***'"
    if kind == "date_of_birth" and column.logical in ("date", "timestamp", "timestamptz"):
        return f"date_trunc('year', {c})::date"
    return f"NULL::{column.type}"


def _readers(schema: Schema, table: Table, readers: Sequence[str]) -> tuple[list[str], bool]:
    """Roles holding table-wide SELECT on `table` (granted in the schema), else `readers`,
    else a placeholder; and whether any role really holds it."""
    target = qname(table.schema, table.name)
    granted = sorted(
        {
            g.grantee
            for g in schema.grants
            if g.object_type == "table"
            and g.object == target
            and g.privilege == "SELECT"
            and not g.columns
        }
    )
    if granted:
        return granted, True
    return (list(readers) or [DEFAULT_READER]), False


def _role(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else quote(name)


def _privileges(
    schema: Schema, table: Table, cols: list[PiiColumn], readers: Sequence[str]
) -> Finding:
    roles, held = _readers(schema, table, readers)
    secret = {p.column for p in cols}
    others = [quote(c.name) for c in table.columns if c.name not in secret]
    target = qname(table.schema, table.name)
    lines = []
    for r in roles:
        # A column REVOKE cannot take back a table-wide grant: revoke the table, grant columns.
        lines.append(f"REVOKE SELECT ON {target} FROM {_role(r)};")
        if others:
            lines.append(f"GRANT SELECT ({', '.join(others)}) ON {target} TO {_role(r)};")
    listed = ", ".join(f"{p.column} ({p.kind})" for p in cols)
    who = ", ".join(roles) if held else "reading roles"
    return Finding(
        rule="secure-pii-column-privileges",
        severity="warning" if held else "info",
        kind="table",
        object=table.qualified,
        message=f"{who} can read personal data in {listed}; grant SELECT on the other columns",
        rationale="Column privileges keep personal data from roles that only need the rest "
        "of the row; they read it through a masking view instead.",
        fix="\n".join(lines),
    )


def _masking_view(
    table: Table, cols: list[PiiColumn], tenancy: Tenancy | None, roles: list[str]
) -> Finding:
    kinds = {p.column: p.kind for p in cols}
    select = [
        f"{_mask(c, kinds[c.name])} AS {quote(c.name)}" if c.name in kinds else quote(c.name)
        for c in table.columns
    ]
    view = qname(table.schema, f"{table.name}_masked")
    where = ""
    if tenancy is not None and tenancy.is_tenant_table(table):
        col = quote(tenancy.column)
        setting = literal(tenancy.setting)
        where = f"\nWHERE {col} = current_setting({setting})::{tenancy.column_type(table)}"
    body = ",\n       ".join(select)
    fix = (
        f"CREATE VIEW {view} WITH (security_barrier) AS\n"
        f"SELECT {body}\nFROM {qname(table.schema, table.name)}{where};\n"
        f"GRANT SELECT ON {view} TO {', '.join(_role(r) for r in roles)};"
    )
    return Finding(
        rule="secure-pii-masking-view",
        severity="info",
        kind="table",
        object=table.qualified,
        message=f"serve {table.qualified} to support and analytics roles through {view}, "
        "which masks " + ", ".join(sorted(kinds)),
        rationale="The view runs with its owner's rights, so readers need SELECT on the view "
        "only; it bypasses row level security, hence the tenant filter on tenant tables.",
        fix=fix,
    )


def _encrypt(table: Table, p: PiiColumn, crypto: tuple[str, str], setting: str) -> Finding:
    ext, install = crypto
    target = qname(table.schema, table.name)
    c = quote(p.column)
    enc = quote(f"{p.column}_enc")
    fix = (
        f"{install}ALTER TABLE {target} ADD COLUMN {enc} bytea;\n"
        f"UPDATE {target} SET {enc} = {quote(ext)}.pgp_sym_encrypt({c}::text, {_key(setting)});\n"
        f"-- read back: {quote(ext)}.pgp_sym_decrypt({enc}, {_key(setting)}); "
        f"then drop {c}."
    )
    return Finding(
        rule="secure-pii-encrypt",
        severity="info",
        kind="column",
        object=f"{table.qualified}.{p.column}",
        message=f"encrypt {p.kind.replace('_', ' ')} column {p.column} with pgp_sym_encrypt",
        rationale="Encrypted at rest in the table, dumps and replicas; only sessions that "
        f"hold the key ({setting}) can read it.",
        fix=fix,
    )


def _lookup(table: Table, p: PiiColumn, crypto: tuple[str, str], setting: str) -> Finding:
    ext, install = crypto
    target = qname(table.schema, table.name)
    c = quote(p.column)
    h = quote(f"{p.column}_hmac")
    norm = f"lower({c}::text)" if p.kind == "email" else f"{c}::text"
    fix = (
        f"{install}ALTER TABLE {target} ADD COLUMN {h} bytea;\n"
        f"UPDATE {target} SET {h} = {quote(ext)}.hmac({norm}, {_key(setting)}, 'sha256');\n"
        f"CREATE INDEX ON {target} ({h});"
    )
    return Finding(
        rule="secure-pii-hash-lookup",
        severity="info",
        kind="column",
        object=f"{table.qualified}.{p.column}",
        message=f"look {p.column} up by a keyed hash (hmac sha256), never plain md5 or sha",
        rationale="An unkeyed hash of an email or phone number is reversed by trying every "
        "value; a keyed hash (HMAC) is not, and still supports equality lookups.",
        fix=fix,
    )


def _time_column(table: Table, pii: set[str]) -> Column | None:
    stamps = [
        c
        for c in table.columns
        if c.logical in ("timestamp", "timestamptz", "date") and c.name not in pii
    ]
    for name in _TIME_COLUMNS:
        hit = next((c for c in stamps if c.name == name), None)
        if hit is not None:
            return hit
    return stamps[0] if stamps else None


def _retention(table: Table, cols: list[PiiColumn], days: int) -> Finding:
    target = qname(table.schema, table.name)
    pii = {p.column for p in cols}
    stamp = _time_column(table, pii)
    if stamp is None:
        return Finding(
            rule="secure-pii-retention",
            severity="info",
            kind="table",
            object=table.qualified,
            message=f"{table.qualified} holds personal data but no timestamp to age it by",
            rationale="Without a creation time nothing can be deleted or anonymised on time.",
            fix=f"ALTER TABLE {target} ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
        )
    sets: list[str] = []
    kept: list[str] = []
    for c in table.columns:
        if c.name not in pii:
            continue
        if c.nullable:
            sets.append(f"{quote(c.name)} = NULL")
        elif c.logical in ("char", "varchar", "text"):
            # NOT NULL, maybe UNIQUE: a fresh random value keeps both constraints happy.
            sets.append(f"{quote(c.name)} = 'anonymised-' || gen_random_uuid()")
        else:
            kept.append(c.name)
    cond = f"{quote(stamp.name)} < now() - interval '{int(days)} days'"
    fix = f"UPDATE {target} SET {', '.join(sets)}\nWHERE {cond};" if sets else ""
    fix += f"\n-- or delete outright: DELETE FROM {target} WHERE {cond};"
    note = f" ({', '.join(kept)} NOT NULL: review by hand)" if kept else ""
    return Finding(
        rule="secure-pii-retention",
        severity="info",
        kind="table",
        object=table.qualified,
        message=f"anonymise or delete personal data in {table.qualified} older than {days} "
        f"days by {stamp.name}{note}; schedule it (cron, pg_cron)",
        rationale="Personal data kept past its purpose is a liability (GDPR art. 5(1)(e)).",
        fix=fix.strip(),
    )


def _password(
    table: Table, p: PiiColumn, sampler: Sampler | None, crypto: tuple[str, str]
) -> Finding | None:
    """A password column whose sampled values are not slow salted hashes (bcrypt, argon2…)."""
    words = set(tokens(p.column))
    if sampler is None or p.kind != "secret" or not words & _PASSWORD_WORDS:
        return None
    column = table.column(p.column)
    if column is None:
        return None
    values = [t for t in (as_text(v) for v in sampler(table, column, 200)) if t]
    weak = [v for v in values if not is_strong_hash(v)]
    if not weak:
        return None
    fast = sum(1 for v in weak if is_fast_hash(v))
    how = (
        f"{fast} of {len(values)} sampled values are unsalted hex digests (md5/sha)"
        if fast == len(weak)
        else f"{len(weak)} of {len(values)} sampled values are not password hashes"
    )
    ext, install = crypto
    c = quote(p.column)
    target = qname(table.schema, table.name)
    strong = r"^(\$(2[abxy]?|argon2(id|i|d)|scrypt|7|5|6|pbkdf2[-a-z0-9]*)\$|[a-z0-9_]+\$)"
    fix = (
        f"{install}-- hash in the application with argon2id or bcrypt; meanwhile in SQL:\n"
        f"UPDATE {target} SET {c} = {quote(ext)}.crypt({c}, {quote(ext)}.gen_salt('bf', 12))\n"
        f"WHERE {c} !~ {literal(strong)};"
    )
    if fast:
        fix += (
            "\n-- the hex digests become bcrypt(digest): check logins with "
            "crypt(md5(password), stored) until each user has logged in and been rehashed."
        )
    return Finding(
        rule="secure-pii-plaintext-password",
        severity="error",
        kind="column",
        object=f"{table.qualified}.{p.column}",
        message=f"passwords in {p.column} are not stored as slow salted hashes: {how}",
        rationale="Anyone who reads the table (a dump, a replica, an injection) gets every "
        "password; plain or md5/sha digests fall to a dictionary in minutes.",
        fix=fix,
    )


def pii_advice(
    schema: Schema,
    detections: Sequence[PiiColumn] | None = None,
    *,
    sampler: Sampler | None = None,
    tenancy: Tenancy | None = None,
    retention_days: int = 365,
    key_setting: str = KEY_SETTING,
    readers: Sequence[str] = (),
    min_confidence: float = 0.5,
) -> list[Finding]:
    """Findings (rules `secure-pii-…`) for personal data in `schema`: plaintext passwords
    (error, needs `sampler`), column privileges, pgcrypto encryption and keyed-hash lookups,
    a masking view and a retention rule per table. `detections` default to
    `detect_pii(schema, sampler)`; `readers` name the roles to restrict when the schema has
    no table-wide SELECT grant. A table is advised on when one of its detections reaches
    `min_confidence` (then all of them are handled): free-text columns alone (0.4) are only
    listed. PostgreSQL only (InputError otherwise)."""
    if schema.dialect != "postgres":
        raise InputError("secure pii advice is available for PostgreSQL only")
    if retention_days < 1:
        raise InputError(f"pii: retention must be at least 1 day, got {retention_days}")
    found = list(detections) if detections is not None else detect_pii(schema, sampler)
    crypto = _pgcrypto(schema)
    by_table: dict[str, list[PiiColumn]] = {}
    for p in found:
        by_table.setdefault(p.table, []).append(p)
    out: list[Finding] = []
    for name, cols in sorted(by_table.items()):
        table = schema.table(name)
        if table is None:
            raise InputError(f"pii: no table {name!r} in the schema")
        if max(p.confidence for p in cols) < min_confidence:
            continue
        for p in cols:
            weak = _password(table, p, sampler, crypto)
            if weak is not None:
                out.append(weak)
            if p.kind in _LOOKUP:
                out.append(_lookup(table, p, crypto, key_setting))
            if p.kind in _REVERSIBLE or (p.kind == "secret" and not _hashed(p) and not _pw(p)):
                out.append(_encrypt(table, p, crypto, key_setting))
        out.append(_privileges(schema, table, cols, readers))
        out.append(_masking_view(table, cols, tenancy, _readers(schema, table, readers)[0]))
        out.append(_retention(table, cols, retention_days))
    return sorted(out, key=Finding.sort_key)


def _pw(p: PiiColumn) -> bool:
    return bool(set(tokens(p.column)) & _PASSWORD_WORDS)


def _hashed(p: PiiColumn) -> bool:
    """A secret already stored one-way: named so (password_hash), or its sample was hashes."""
    named = bool(set(tokens(p.column)) & _HASHED_WORDS)
    return named or any(e.endswith("password hashes") for e in p.evidence)


__all__ = ["pii_advice"]
