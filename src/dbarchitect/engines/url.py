"""Database URLs: parsing, the dialect they name, and redaction of secrets."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from dbarchitect.errors import InputError

_SCHEMES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseURL:
    """A parsed database URL. `str()` and `repr()` never show the password."""

    dialect: str
    scheme: str
    user: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.render(redact=True)

    def __repr__(self) -> str:
        return f"DatabaseURL({self.render(redact=True)!r})"

    def render(self, *, redact: bool = True) -> str:
        """The URL as text; with `redact` (the default) the password is shown as ***."""
        if self.dialect == "sqlite":
            return f"sqlite:///{self.database or ''}"
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + ("***" if redact else quote(self.password, safe=""))
            auth += "@"
        host = self.host or ""
        if host.startswith("/"):
            host = ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{self.port}" if self.port else ""
        query = self.query
        if self.host and self.host.startswith("/"):
            query = (("host", self.host), *query)
        qs = "&".join(
            f"{k}={'***' if redact and k == 'password' else quote(v, safe='/')}" for k, v in query
        )
        db = quote(self.database or "", safe="")
        return f"{self.scheme}://{auth}{host}{port}/{db}" + (f"?{qs}" if qs else "")

    def with_database(self, database: str) -> DatabaseURL:
        return replace(self, database=database)

    def param(self, key: str) -> str | None:
        return next((v for k, v in self.query if k == key), None)


def looks_like_url(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text))


def parse_url(text: str | None = None) -> DatabaseURL:
    """Parse a URL, or `DATABASE_URL` when `text` is None. Raises InputError when malformed."""
    if text is None:
        text = os.environ.get("DATABASE_URL")
        if not text:
            raise InputError("no database URL given and DATABASE_URL is not set")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if not m:
        raise InputError(f"malformed database URL {_redact_text(text)!r}: expected scheme://…")
    scheme = m.group(1).lower()
    base = scheme.split("+", 1)[0]
    if base not in _SCHEMES:
        known = ", ".join(sorted(_SCHEMES))
        raise InputError(f"unknown database URL scheme {scheme!r} (known: {known})")
    dialect = _SCHEMES[base]
    if dialect == "sqlite":
        path = text[m.end() :]
        if path.startswith("/"):
            path = path[1:]
        path = path.split("?", 1)[0]
        return DatabaseURL(dialect=dialect, scheme="sqlite", database=unquote(path) or ":memory:")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        # urllib quotes what it took for the port, which may be part of a password.
        what = "bad port" if "port" in str(exc).lower() else "bad host"
        raise InputError(f"malformed database URL {_redact_text(text)!r}: {what}") from None
    query = tuple(parse_qsl(parts.query, keep_blank_values=True))
    host = unquote(parts.hostname) if parts.hostname else None
    qhost = next((v for k, v in query if k == "host"), None)
    if qhost is not None:
        host = qhost
        query = tuple((k, v) for k, v in query if k != "host")
    database = unquote(parts.path[1:]) if parts.path.startswith("/") else None
    return DatabaseURL(
        dialect=dialect,
        scheme=base,
        user=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=host,
        port=port,
        database=database or None,
        query=query,
    )


def _redact_text(text: str) -> str:
    # The password runs to the LAST '@' before the host: passwords may hold '@', '/' or '#'.
    text = re.sub(r"(://[^:/@\s]*:)\S*@(?=[^@/?#\s]*(?:[/?#\s]|$))", r"\1***@", text)
    return re.sub(r"(\bpassword=)[^&\s]*", r"\1***", text)


def redact(text: str, *secrets: str | None) -> str:
    """Remove passwords from a message: URL user:password@ parts and the given secrets."""
    out = _redact_text(text)
    for s in secrets:
        if s:
            out = out.replace(s, "***")
    return out
