"""The HTML site in headless Chromium, and `dbarch docs` end to end.

Chromium renders index.html from disk: its DOM holds the ERD as SVG naming every table, and
a screenshot shows the drawing — the PNG is decoded here (zlib and the five PNG filters) and
the rows where the diagram sits hold many more ink pixels than a control page without it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dbarchitect.cli import app, main
from dbarchitect.codegen import erd
from dbarchitect.dialects import get_dialect
from dbarchitect.sources import load_schema
from tests.conftest import REALWORLD, ROOT, realworld_manifest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOP = ROOT / "examples" / "shop.sql"
WIDTH, HEIGHT = 1400, 2000


def _chromium(*args: str, timeout: float = 90) -> str:
    """Run headless Chromium (as root it needs --no-sandbox) with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="dbarch-chromium-")
    try:
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _screenshot(page: Path, png: Path) -> Image:
    _chromium(f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri())
    return decode_png(png.read_bytes())


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int  # 3 (RGB) or 4 (RGBA), one byte each
    rows: list[bytes]

    def ink(self, y: int) -> int:
        """Pixels of row `y` that are not (nearly) white, the page background."""
        row, ch = self.rows[y], self.channels
        return sum(1 for i in range(0, len(row), ch) if row[i] + row[i + 1] + row[i + 2] < 720)


def _add(a: bytes, b: bytes, low: int, high: int) -> bytes:
    """Bytewise (a + b) mod 256 over whole rows at once: big integers as SIMD lanes (the low
    seven bits of each lane cannot carry out; the top bit is their carry xor both tops)."""
    x, y = int.from_bytes(a, "little"), int.from_bytes(b, "little")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(len(a), "little")


def decode_png(data: bytes) -> Image:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG: inflate the IDAT stream, then undo
    each row's filter (None, Sub, Up, Average, Paeth) as the PNG specification defines."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat = 8, b""
    width = height = color = 0
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    ch = 4 if color == 6 else 3
    stride = width * ch
    low = int.from_bytes(b"\x7f" * stride, "little")
    high = int.from_bytes(b"\x80" * stride, "little")
    raw = zlib.decompress(idat)
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        if filt == 2:  # Up
            line = _add(line, prev, low, high)
        elif filt == 1:  # Sub: a prefix sum per channel, by doubling shifts
            shift = ch
            while shift < stride:
                moved = (int.from_bytes(line, "little") << (8 * shift)).to_bytes(
                    stride + shift, "little"
                )[:stride]
                line = _add(line, moved, low, high)
                shift *= 2
        elif filt in (3, 4):  # Average, Paeth: sequential, byte by byte
            out = bytearray(line)
            for i in range(stride):
                left = out[i - ch] if i >= ch else 0
                up = prev[i]
                if filt == 3:
                    out[i] = (out[i] + (left + up) // 2) & 0xFF
                    continue
                corner = prev[i - ch] if i >= ch else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                out[i] = (
                    out[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 0xFF
            line = bytes(out)
        else:
            assert filt == 0, f"unknown PNG filter {filt}"
        rows.append(line)
        prev = line
    return Image(width=width, height=height, channels=ch, rows=rows)


def _docs(source: Sequence[str], out: Path, *extra: str) -> list[Path]:
    result = CliRunner().invoke(app, ["docs", *source, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return [Path(line) for line in result.output.splitlines()]


@pytest.fixture(scope="module")
def shop_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop") / "docs"
    written = _docs([str(SHOP)], out)
    assert [p.relative_to(out).as_posix() for p in written] == [
        "database-design.md",
        "database-optimization.md",
        "database-operations.md",
        "html/index.html",
        "html/database-design.html",
        "html/database-optimization.html",
        "html/database-operations.html",
    ]
    return out


def test_index_dom_shows_the_svg_erd_with_every_table(shop_site: Path) -> None:
    dom = _chromium("--dump-dom", (shop_site / "html" / "index.html").as_uri())
    svg = dom[dom.index("<svg") : dom.index("</svg>")]
    schema = load_schema([str(SHOP)])
    for table in erd.entities(schema):
        assert f">{table.qualified}<" in svg
    assert len(re.findall(r'<g id="erd-[^"]+" class="node"', svg)) == len(erd.entities(schema))
    assert "database-design.html#table-shoporder" in svg  # nodes link to their sections


def test_screenshot_shows_the_erd(shop_site: Path, tmp_path: Path) -> None:
    index = shop_site / "html" / "index.html"
    html = index.read_text()
    # The control page is the same page with the drawing taken out of its figure.
    control = tmp_path / "control.html"
    control.write_text(re.sub(r"<svg.*</svg>", "", html, flags=re.S))
    with_erd = _screenshot(index, tmp_path / "erd.png")
    without = _screenshot(control, tmp_path / "control.png")
    assert (with_erd.width, with_erd.height) == (WIDTH, HEIGHT)
    differ = [y for y in range(HEIGHT) if with_erd.rows[y] != without.rows[y]]
    assert differ, "the ERD changed nothing on screen"
    top, bottom = differ[0], differ[-1]
    assert bottom - top > 150, "the drawing is too small to be the diagram"
    ink = sum(with_erd.ink(y) for y in range(top, bottom + 1))
    blank = sum(without.ink(y) for y in range(top, bottom + 1))
    # Four tables with 20 columns of text, borders and edges: tens of thousands of pixels.
    assert ink > 20_000
    assert ink > 5 * max(blank, 1)
    # Above the diagram the two pages are the same: title, summary and the three cards.
    assert top > 200


def test_pages_are_self_contained_and_links_resolve(shop_site: Path) -> None:
    pages = sorted((shop_site / "html").glob("*.html"))
    ids = {p.name: set(re.findall(r'\sid="([^"]+)"', p.read_text())) for p in pages}
    for page in pages:
        html = page.read_text()
        assert "<script" not in html.lower()
        assert not re.search(r'(src|href)="(https?:)?//', html), "an external asset"
        for target in re.findall(r'href="([^"]+)"', html):
            name, _, anchor = target.partition("#")
            name = name or page.name
            assert name in ids, f"{page.name} links to a missing page {target}"
            if anchor:
                assert anchor in ids[name], f"{page.name} links to a missing anchor {target}"
    design = (shop_site / "html" / "database-design.html").read_text()
    assert design.count("<svg") == 1


def test_markdown_links_resolve(shop_site: Path) -> None:
    from dbarchitect.report.markdown_syntax import github_slug, heading_text

    anchors: dict[str, set[str]] = {}
    for md in shop_site.glob("*.md"):
        seen: set[str] = set()
        for line in md.read_text().splitlines():
            if m := re.match(r"^#{1,6} (.*)$", line):
                slug, base, n = github_slug(heading_text(m.group(1))), None, 0
                base = slug
                while slug in seen:
                    n += 1
                    slug = f"{base}-{n}"
                seen.add(slug)
        anchors[md.name] = seen
    for md in shop_site.glob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", md.read_text()):
            name, _, anchor = target.partition("#")
            name = name or md.name
            assert name in anchors, f"{md.name}: link to {target}"
            if anchor:
                assert anchor in anchors[name], f"{md.name}: link to {target}"


def test_without_graphviz_the_html_shows_the_mermaid_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbarchitect.report.docs import write_docs

    schema = load_schema([str(REALWORLD / "chinook" / "Chinook_Sqlite.sql")], dialect="sqlite")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on this PATH
    write_docs(schema, tmp_path / "out")
    index = (tmp_path / "out" / "html" / "index.html").read_text()
    assert "<svg" not in index
    pre = index[index.index('<pre class="mermaid-source">') : index.index("</pre>")]
    assert "erDiagram" in pre and "    Album |o..o{ Track : &quot;AlbumId&quot;" in pre
    assert "Graphviz was not available" in index


def test_cli_on_pagila_with_data(tmp_path: Path) -> None:
    dataset = next(d for d in realworld_manifest()["datasets"] if d["name"] == "pagila")
    files = [str(REALWORLD / f) for f in dataset["load"]]
    out = tmp_path / "pagila-docs"
    written = _docs(files, out)
    assert len(written) == 7 and all(p.is_file() for p in written)
    design = (out / "database-design.md").read_text()
    optimization = (out / "database-optimization.md").read_text()
    operations = (out / "database-operations.md").read_text()
    for table in ("actor", "film", "film_actor", "rental", "payment", "store", "address"):
        assert f"### Table `public.{table}`" in design
    assert "### Table `public.payment_p2022_01`" not in design  # partitions: in the parent
    assert "| `public.payment_p2022_01` | `FOR VALUES FROM ('2022-01-01" in design
    assert (
        "[`public.payment`](#table-publicpayment) is partitioned by RANGE on `payment_date` "
        "into 7 partitions." in design
    )
    assert (
        "- [`public.film_actor`](#table-publicfilm_actor) links [`public.actor`]"
        "(#table-publicactor) and [`public.film`](#table-publicfilm) (many-to-many)" in design
    )
    assert "```mermaid" in design and "## Review findings" in design
    assert "pg_blocking_pids" in operations and "pg_basebackup" in operations
    assert "## Query patterns" in optimization
    index = (out / "html" / "index.html").read_text()
    assert index.count("<svg") == 1 and ">public.film_actor<" in index


def test_cli_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "docs"
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE ok (id int);\nCREATE TABLE bad (id nosuchtype);\n")
    cases = {
        'broken.sql:2: type "nosuchtype" does not exist': [str(broken)],
        "missing.sql: no such file": [str(tmp_path / "missing.sql")],
        "x": [str(SHOP), "--dialect", "x"],
    }
    for expected, args in cases.items():
        with pytest.raises(SystemExit) as exc:
            main(["docs", *args, "--out", str(out)])
        assert exc.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert len(captured.err.strip().splitlines()) == 1 and expected in captured.err
        assert not out.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.sql"]  # no temp dirs


def test_cli_on_a_live_database_uses_its_statistics(tmp_path: Path) -> None:
    engine = get_dialect("postgres").engine()
    with engine.scratch() as url:
        engine.load_files(url, [SHOP])
        with engine.connect(url, read_only=False) as session:
            session.execute(
                "INSERT INTO shop.customer (email, full_name) "
                "SELECT 'c' || g || '@example.com', 'C ' || g FROM generate_series(1, 500) g;"
                "ANALYZE shop.customer;"
            )
        out = tmp_path / "live"
        out.mkdir()
        (out / "notes.txt").write_text("kept")
        _docs([url.render(redact=False)], out, "--no-review")
    design = (out / "database-design.md").read_text()
    assert "Measured sizes from the live database" in design
    assert "| [`shop.customer`](#table-shopcustomer) | 500 |" in design
    assert "## Review findings" not in design
    assert str(url) in design and (url.password is None or url.password not in design)
    assert (out / "notes.txt").read_text() == "kept"
