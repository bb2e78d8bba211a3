"""SQLAlchemy models as a SOURCE: `app.models`, `path/to/models.py` or a package directory.

The module is imported, every MetaData it reaches is created with `create_all` in a scratch
database of the chosen engine, and that database is introspected like any other: the schema
is what the engine made of the models, not what the models claim. An exception raised while
importing the user's code becomes one InputError line naming the user's file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pkgutil
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.url import DatabaseURL, looks_like_url
from dbarchitect.errors import InputError
from dbarchitect.model import Schema

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from sqlalchemy.engine import URL

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# A dotted word ending like this is a file name the user mistyped, not a module.
_FILE_SUFFIXES = frozenset(
    {"sql", "json", "yaml", "yml", "py", "txt", "db", "sqlite", "sqlite3", "dump", "gz", "toml"}
)


def looks_like_models(item: str) -> bool:
    """Whether a SOURCE names Python models: a `.py` file, a package directory (one with an
    `__init__.py`), or a dotted module name that is neither an existing path nor a URL."""
    if not item or looks_like_url(item):
        return False
    path = Path(item)
    if item.endswith(".py"):
        return True
    if path.is_dir():
        return (path / "__init__.py").is_file()
    if path.exists() or not _DOTTED.fullmatch(item):
        return False
    return item.rsplit(".", 1)[1].lower() not in _FILE_SUFFIXES


def load_models(
    item: str, *, dialect: str = "postgres", schemas: Sequence[str] | None = None
) -> Schema:
    """The schema SQLAlchemy models produce on `dialect`: imported, created, introspected."""
    try:
        import sqlalchemy
    except ImportError:
        raise InputError(
            f"{item}: reading SQLAlchemy models needs SQLAlchemy: pip install 'sqlalchemy>=2'"
        ) from None
    d = get_dialect(dialect)
    with _imported(item) as modules:
        metadatas = _metadatas(modules)
        if not metadatas:
            raise InputError(
                f"{item}: no SQLAlchemy MetaData found "
                "(no DeclarativeBase subclass, Table or MetaData at module level)"
            )
        engine = d.engine()
        with engine.scratch() as url:
            sa_engine = sqlalchemy.create_engine(sqlalchemy_url(url))
            try:
                for metadata in metadatas:
                    metadata.create_all(sa_engine)
            except sqlalchemy.exc.SQLAlchemyError as exc:
                raise InputError(
                    f"{item}: create_all failed on {d.label}: {_db_error(exc)}"
                ) from None
            except Exception as exc:  # the user's own event listeners or types
                files = [Path(m.__file__).resolve() for m in modules if m.__file__]
                raise InputError(f"create_all failed: {_where(exc, files, item)}") from None
            finally:
                sa_engine.dispose()
            from dbarchitect.sources import introspect_url

            return introspect_url(url, schemas=schemas)


def sqlalchemy_url(url: DatabaseURL) -> URL:
    """A SQLAlchemy URL for one of our database URLs (psycopg 3, sqlite3, PyMySQL)."""
    from sqlalchemy.engine import URL

    if url.dialect == "sqlite":
        return URL.create("sqlite", database=url.database)
    query = dict(url.query)
    host = url.host
    socket = host is not None and host.startswith("/")
    if url.dialect == "postgres":
        if socket:
            query["host"] = host or ""
            host = None
        driver = "postgresql+psycopg"
    else:
        if socket:
            query["unix_socket"] = host or ""
            host = None
        query.setdefault("charset", "utf8mb4")
        driver = "mysql+pymysql"
    return URL.create(
        driver,
        username=url.user,
        password=url.password,
        host=host,
        port=url.port,
        database=url.database,
        query=query,
    )


def _db_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- importing the user's code -------------------------------------------------------------


@contextmanager
def _imported(item: str) -> Iterator[list[ModuleType]]:
    """The user's module (and a package's submodules), imported for the `with` block."""
    path = Path(item)
    if item.endswith(".py"):
        if not path.is_file():
            raise InputError(f"{item}: no such file or directory")
        with _from_file(path) as module:
            yield [module]
        return
    if path.is_dir():
        # A package is imported under its own name, so its absolute imports find it.
        resolved = path.resolve()
        with _on_path(resolved.parent):
            yield _import(resolved.name, item)
        return
    with _on_path(Path.cwd()):
        if importlib.util.find_spec(item.split(".")[0]) is None:
            raise InputError(f"{item}: no such module (nor file) to read models from")
        yield _import(item, item)


@contextmanager
def _on_path(directory: Path) -> Iterator[None]:
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _import(name: str, item: str) -> list[ModuleType]:
    roots = _roots(name.split(".")[0])
    try:
        module = _run(lambda: importlib.import_module(name), roots, item)
    except ModuleNotFoundError as exc:
        raise InputError(f"{item}: {exc}") from None
    return [module, *_submodules(module, roots, item)]


@contextmanager
def _from_file(path: Path) -> Iterator[ModuleType]:
    """Import a file under a name of its own, so that it cannot collide with (or replace) a
    module of the same name; removed from sys.modules afterwards. Its directory is on
    sys.path meanwhile, for the modules beside it that it imports."""
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    name = f"_dbarch_models_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise InputError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Declarative classes resolve their annotations through sys.modules[cls.__module__].
    sys.modules[name] = module
    loader = spec.loader
    try:
        with _on_path(resolved.parent):
            _run(lambda: loader.exec_module(module), [resolved], str(path))
            yield module
    finally:
        sys.modules.pop(name, None)


def _roots(top: str) -> list[Path]:
    spec = importlib.util.find_spec(top)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p).resolve() for p in spec.submodule_search_locations]
    return [Path(spec.origin).resolve()] if spec.origin else []


def _submodules(module: ModuleType, roots: list[Path], item: str) -> list[ModuleType]:
    """Every submodule of a package, so models defined in any of them are found."""
    locations = getattr(module, "__path__", None)
    if not locations:
        return []
    out = []
    for info in pkgutil.walk_packages(locations, prefix=module.__name__ + "."):
        name = info.name
        out.append(_run(lambda name=name: importlib.import_module(name), roots, item))
    return out


def _run(action: Any, roots: list[Path], item: str) -> Any:
    """Run an import; an exception from the user's code becomes `file:line: Type: message`."""
    try:
        return action()
    except InputError:
        raise
    except (Exception, SystemExit) as exc:
        raise InputError(_where(exc, roots, item)) from None


def _where(exc: BaseException, roots: list[Path], item: str) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, SyntaxError):
        message = exc.msg
        if exc.filename and exc.lineno:
            return f"{_shown(exc.filename)}:{exc.lineno}: SyntaxError: {message}"
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if _inside(f.filename, roots)]
    chosen = mine or list(frames)
    frame = chosen[-1] if chosen else None
    kind = type(exc).__name__
    if frame is None or frame.lineno is None:
        return f"{item}: {kind}: {message}"
    return f"{_shown(frame.filename)}:{frame.lineno}: {kind}: {message}"


def _inside(filename: str, roots: list[Path]) -> bool:
    try:
        path = Path(filename).resolve()
    except OSError:
        return False
    return any(path == root or root in path.parents for root in roots)


def _shown(filename: str) -> str:
    """A path relative to the working directory when it is under it (as the user typed it)."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename


# -- finding the metadata ------------------------------------------------------------------


def _metadatas(modules: list[ModuleType]) -> list[MetaData]:
    """Every MetaData reachable from module-level names, in first-seen order."""
    from sqlalchemy import MetaData, Table

    found: dict[int, MetaData] = {}
    for module in modules:
        for value in list(vars(module).values()):
            metadata: object = None
            if isinstance(value, MetaData):
                metadata = value
            elif isinstance(value, Table):
                metadata = value.metadata
            elif isinstance(value, type):
                metadata = getattr(value, "metadata", None)
            if isinstance(metadata, MetaData):
                found.setdefault(id(metadata), metadata)
    return list(found.values())


__all__ = ["load_models", "looks_like_models", "sqlalchemy_url"]
