"""SQLAlchemy models as a SOURCE: `models.py`, a package, `app.models`; errors in the user's
code become one line naming the file and line, exit status 2."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

from dbarchitect.cli import main
from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.sources import load_schema
from dbarchitect.sources.sqlalchemy import load_models, looks_like_models
from tests.conftest import FIXTURES

BLOG = FIXTURES / "design" / "sqla" / "blog_models.py"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out = capsys.readouterr()
    code = stop.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out, out.err


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and out == ""
    return lines[0]


def package(root: Path, files: dict[str, str]) -> str:
    """A package of a fresh name under `root` (imports are cached by name)."""
    name = f"app_{uuid.uuid4().hex[:8]}"
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(files.pop("__init__.py", ""))
    for file, text in files.items():
        (root / name / file).write_text(text)
    return name


MODELS = """\
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(40), index=True)
"""


LISTENER = """\
import sqlalchemy as sa

metadata = sa.MetaData()
t = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))


@sa.event.listens_for(t, "after_create")
def boom(target, connection, **kw):
    raise RuntimeError("the listener failed")
"""


def test_what_looks_like_models(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "sqldir").mkdir()
    assert looks_like_models("app/models.py")
    assert looks_like_models("app.models")
    assert looks_like_models(str(tmp_path / "pkg"))
    assert not looks_like_models(str(tmp_path / "sqldir"))
    assert not looks_like_models("schema.sql")  # a mistyped file, not a module
    assert not looks_like_models("spec.yaml")
    assert not looks_like_models("postgresql://localhost/app.models")
    assert not looks_like_models("models")
    assert not looks_like_models("")


def test_hand_written_models_on_postgres_and_sqlite() -> None:
    pg = load_models(str(BLOG))
    posts = pg.table("public.posts")
    assert posts is not None
    assert [c.name for c in posts.columns] == ["id", "author_id", "title", "status", "created_at"]
    assert posts.column("status") is not None and posts.column("status").type == "public.status"
    assert [fk.name for fk in posts.foreign_keys] == ["fk_posts_author_id"]
    assert [c.name for c in posts.checks] == ["ck_posts_title_not_empty"]
    # Both MetaData objects of the module: the models' and a separate one.
    assert {t.name for t in pg.tables} == {"authors", "posts", "post_views", "audit_events"}
    lite = load_models(str(BLOG), dialect="sqlite")
    assert lite.dialect == "sqlite"
    assert lite.table("posts") is not None and lite.table("posts").column("title").type == (
        "VARCHAR(200)"
    )


def test_load_schema_dispatches_models_and_keeps_sql_files(tmp_path: Path) -> None:
    models = tmp_path / "models.py"
    models.write_text(MODELS)
    schema = load_schema([str(models)], dialect="sqlite")
    assert [t.name for t in schema.tables] == ["things"]
    assert [i.name for i in schema.tables[0].indexes] == ["ix_things_label"]
    with pytest.raises(InputError, match=r"schema\.sql: no such file"):
        load_schema(["schema.sql"])


def test_package_directory_and_dotted_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = package(tmp_path, {"__init__.py": "", "models.py": MODELS})
    # The package's own submodules are imported: its __init__ does not import them.
    by_dir = load_models(str(tmp_path / name), dialect="sqlite")
    assert [t.name for t in by_dir.tables] == ["things"]
    monkeypatch.chdir(tmp_path)
    dotted = f"{name}.models"
    assert looks_like_models(dotted)
    by_name = load_schema([dotted], dialect="sqlite")
    assert by_name == by_dir
    assert str(tmp_path) not in sys.path  # the working directory was only borrowed


def test_a_file_is_imported_under_a_name_of_its_own(tmp_path: Path) -> None:
    # A models file called like a stdlib module must not replace (or be replaced by) it.
    models = tmp_path / "json.py"
    models.write_text(MODELS)
    schema = load_models(str(models), dialect="sqlite")
    assert [t.name for t in schema.tables] == ["things"]
    assert json.dumps({"ok": 1}) == '{"ok": 1}'
    assert not any(k.startswith("_dbarch_models_") for k in sys.modules)


def test_syntax_error_is_one_line_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "models.py"
    bad.write_text("import sqlalchemy as sa\n\nclass Broken(:\n    pass\n")
    line = one_line_error(capsys, "inspect", str(bad))
    assert line.startswith(f"dbarch: error: {bad}:3: SyntaxError: ")


def test_exception_in_the_models_names_the_users_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "models.py"
    bad.write_text(MODELS.replace("sa.String(40)", "sa.Strng(40)"))
    line = one_line_error(capsys, "inspect", str(bad), "--dialect", "sqlite")
    assert line == (
        f"dbarch: error: {bad}:12: AttributeError: module 'sqlalchemy' has no attribute 'Strng'"
    )


def test_exception_in_a_package_submodule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = package(tmp_path, {"models.py": MODELS, "broken.py": "x = 1\ny = x / 0\n"})
    line = one_line_error(capsys, "inspect", str(tmp_path / name))
    assert line == (
        f"dbarch: error: {tmp_path / name / 'broken.py'}:2: ZeroDivisionError: division by zero"
    )


def test_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "nothing.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InputError, match="no SQLAlchemy MetaData found"):
        load_models(str(empty))
    with pytest.raises(InputError, match=r"missing\.py: no such file"):
        load_models(str(tmp_path / "missing.py"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="no such module"):
        load_models("no_such_package_4f1.models")
    bad_sql = tmp_path / "bad_check.py"
    bad_check = '\n    __table_args__ = (sa.CheckConstraint("label ((", name="c"),)'
    bad_sql.write_text(MODELS.replace("index=True)", "index=True)" + bad_check))
    with pytest.raises(InputError) as caught:
        load_models(str(bad_sql))
    message = str(caught.value)
    assert message.startswith(f"{bad_sql}: create_all failed on PostgreSQL: syntax error")
    assert "\n" not in message
    listener = tmp_path / "listener.py"
    listener.write_text(LISTENER)
    with pytest.raises(InputError) as caught:
        load_models(str(listener), dialect="sqlite")
    # Paths under the working directory are shown relative to it, as the user typed them.
    assert (
        str(caught.value) == "create_all failed: listener.py:9: RuntimeError: the listener failed"
    )
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if it were not installed
    with pytest.raises(InputError, match="needs SQLAlchemy: pip install"):
        load_models(str(BLOG))


def test_inspect_review_and_diff_read_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_url: DatabaseURL
) -> None:
    code, out, _ = run_cli(capsys, "inspect", str(BLOG), "--format", "json")
    assert code == 0
    assert {t["name"] for t in json.loads(out)["tables"]} >= {"authors", "posts"}

    code, out, err = run_cli(capsys, "review", str(BLOG), "--format", "json", "--fail-on", "never")
    assert code == 0, err
    findings = json.loads(out)
    assert any("posts" in json.dumps(f) for f in findings["findings"])

    # The database has the models' schema and one more column: diff models → database.
    schema = load_models(str(BLOG))
    d = get_dialect("postgres")
    d.engine().run_script(pg_url, d.render(schema) + "\nALTER TABLE authors ADD bio text;")
    code, out, err = run_cli(capsys, "diff", str(BLOG), pg_url.render(redact=False))
    assert code == 0, err
    assert "ALTER TABLE public.authors ADD COLUMN bio text;" in out
