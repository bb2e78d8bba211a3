"""Database URLs: the forms people type, DATABASE_URL, bad input, and passwords never shown."""

from __future__ import annotations

import pytest

from dbarchitect.engines.url import DatabaseURL, looks_like_url, parse_url, redact
from dbarchitect.errors import InputError

SECRET = "s3cr:t@pw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgresql://alice:pw@db.example.com:5433/shop?sslmode=require",
            dict(
                dialect="postgres",
                scheme="postgresql",
                user="alice",
                password="pw",
                host="db.example.com",
                port=5433,
                database="shop",
                query=(("sslmode", "require"),),
            ),
        ),
        (
            "postgres://alice@localhost/shop",
            dict(
                dialect="postgres",
                scheme="postgres",
                user="alice",
                password=None,
                host="localhost",
                port=None,
                database="shop",
                query=(),
            ),
        ),
        (
            "postgresql+psycopg://alice:pw@h/shop",
            dict(dialect="postgres", scheme="postgresql", user="alice", host="h"),
        ),
        (
            "mysql://root:pw@127.0.0.1:3306/sakila",
            dict(
                dialect="mysql",
                scheme="mysql",
                user="root",
                password="pw",
                host="127.0.0.1",
                port=3306,
                database="sakila",
            ),
        ),
        (
            "mariadb://root@localhost/sakila",
            dict(dialect="mysql", scheme="mariadb", user="root", password=None, database="sakila"),
        ),
        (
            "mysql+pymysql://root:pw@h/db",
            dict(dialect="mysql", scheme="mysql", user="root", password="pw"),
        ),
        ("sqlite:///relative/app.db", dict(dialect="sqlite", database="relative/app.db")),
        ("sqlite:////var/lib/app.db", dict(dialect="sqlite", database="/var/lib/app.db")),
        ("sqlite://", dict(dialect="sqlite", database=":memory:")),
        ("sqlite:///:memory:", dict(dialect="sqlite", database=":memory:")),
        ("sqlite:///my%20app.db", dict(dialect="sqlite", database="my app.db")),
        ("SQLite:///x.db", dict(dialect="sqlite", database="x.db")),
        (
            "postgresql://alice@/shop?host=/var/run/postgresql",
            dict(host="/var/run/postgresql", port=None, database="shop", query=()),
        ),
        (
            "postgresql:///shop?host=%2Ftmp%2Fpg&application_name=x",
            dict(user=None, host="/tmp/pg", database="shop", query=(("application_name", "x"),)),
        ),
        ("postgresql://u:pw@[::1]:5432/db", dict(host="::1", port=5432, database="db")),
        ("postgresql://u:pw@[2001:db8::7]/db", dict(host="2001:db8::7", port=None)),
        (
            "postgresql://us%40er:p%40ss%2Fw%3Ard@h/my%2Fdb",
            dict(user="us@er", password="p@ss/w:rd", host="h", database="my/db"),
        ),
        ("postgresql://u:@h/db", dict(user="u", password="")),
        ("postgresql://h", dict(host="h", database=None, user=None, password=None)),
    ],
)
def test_parse(text: str, expected: dict[str, object]) -> None:
    url = parse_url(text)
    assert isinstance(url, DatabaseURL)
    for key, value in expected.items():
        assert getattr(url, key) == value, key


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://u:pw@h:5433/shop?sslmode=require",
        "postgres://u@/shop?host=/var/run/postgresql",
        "postgresql://u:pw@[::1]:5432/db",
        "postgresql://us%40er:p%40ss%2Fw%3Ard@h/my%2Fdb",
        "mysql://root:pw@127.0.0.1:3306/sakila",
        "mariadb://root@localhost/sakila",
        "sqlite:////var/lib/app.db",
    ],
)
def test_render_unredacted_parses_back_to_the_same_url(text: str) -> None:
    url = parse_url(text)
    assert parse_url(url.render(redact=False)) == url


def test_socket_host_is_rendered_as_a_query_parameter() -> None:
    url = parse_url("postgresql://u:pw@/shop?host=/run/pg&sslmode=disable")
    assert url.render(redact=False) == "postgresql://u:pw@/shop?host=/run/pg&sslmode=disable"
    assert url.param("sslmode") == "disable"
    assert url.param("host") is None  # promoted to .host, not left in the query
    assert url.with_database("other").database == "other"


def test_database_url_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:pw@db/shop")
    url = parse_url()
    assert (url.dialect, url.host, url.database) == ("mysql", "db", "shop")
    # An explicit URL wins over the environment.
    assert parse_url("sqlite:///x.db").dialect == "sqlite"


@pytest.mark.parametrize("value", [None, ""])
def test_database_url_missing(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", value)
    with pytest.raises(InputError, match="DATABASE_URL is not set"):
        parse_url()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a url", "malformed database URL"),
        ("postgresql:/shop", "malformed database URL"),
        ("://host/db", "malformed database URL"),
        ("postgresql://h:notaport/db", "malformed database URL"),
        ("postgresql://h:99999/db", "malformed database URL"),
        ("postgresql://u:pw@[::1/db", "malformed database URL"),
        ("oracle://scott:tiger@h/orcl", "unknown database URL scheme 'oracle'"),
        ("http://example.com/db", "unknown database URL scheme 'http'"),
    ],
)
def test_malformed_urls_raise_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        parse_url(text)
    assert "\n" not in str(exc.value)
    assert "tiger" not in str(exc.value)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as exc:
        parse_url("mssql://sa:pw@h/db")
    for scheme in ("postgresql", "postgres", "mysql", "mariadb", "sqlite"):
        assert scheme in str(exc.value)


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://alice:{SECRET.replace(':', '%3A').replace('@', '%40')}@h:5432/db",
        f"postgresql://alice:{SECRET.replace(':', '%3A').replace('@', '%40')}@/db?host=/tmp",
        f"mysql://root:{SECRET.replace(':', '%3A').replace('@', '%40')}@[::1]/db",
    ],
)
def test_str_and_repr_never_show_the_password(text: str) -> None:
    url = parse_url(text)
    assert url.password == SECRET
    for shown in (str(url), repr(url), f"{url}", f"{url!r}", str([url]), url.render()):
        assert SECRET not in shown
        assert "s3cr" not in shown
        assert "%40pw" not in shown
    assert "***" in str(url)
    assert SECRET.replace(":", "%3A").replace("@", "%40") in url.render(redact=False)


def test_malformed_url_message_hides_the_password() -> None:
    with pytest.raises(InputError) as exc:
        parse_url("postgresql://alice:hunter2@h:notaport/db")
    assert "hunter2" not in str(exc.value)
    assert "alice:***@" in str(exc.value)


def test_redact_messages() -> None:
    message = "could not connect to postgresql://alice:hunter2@db:5432/shop: timeout"
    assert redact(message) == "could not connect to postgresql://alice:***@db:5432/shop: timeout"
    assert redact("FATAL: password hunter2 rejected", "hunter2") == "FATAL: password *** rejected"
    assert redact("nothing secret here", None, "") == "nothing secret here"


def test_looks_like_url() -> None:
    assert looks_like_url("postgresql://h/db")
    assert looks_like_url("sqlite:///x.db")
    assert not looks_like_url("schema.sql")
    assert not looks_like_url("C:\\dumps\\schema.sql")
    assert not looks_like_url("migrations/")


# --- known defects of engines/url.py (reported to the lead; strict: they fail once fixed) ----


def test_password_in_query_string_is_redacted() -> None:
    url = parse_url("postgresql://alice@h/db?password=hunter2&sslmode=require")
    assert "hunter2" not in str(url)
    assert "hunter2" not in repr(url)


def test_redact_hides_a_password_holding_an_at_sign() -> None:
    assert "ss@" not in redact("postgresql://alice:p@ss@h/db")


@pytest.mark.parametrize("text", ["postgresql://alice:pa/ss@h/db", "postgresql://alice:pa#ss@h/db"])
def test_unencoded_password_is_not_echoed_in_the_error(text: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_url(text)
    message = str(exc.value)
    for fragment in ("'pa'", "pa/ss", "pa#ss", ":pa"):
        assert fragment not in message
