"""The read-only statement guard lexes like the server: comments, quotes, executable comments."""

from __future__ import annotations

import pytest

from dbarchitect.engines.mysql_guard import check_read_only_mysql, tokenize
from dbarchitect.errors import ReadOnlyViolation


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT 1 --1", None),  # "--1" is minus minus one to MySQL, not a comment
        ("SELECT a --a INTO OUTFILE '/tmp/x' FROM t", "INTO"),
        ("SELECT 1 -- INTO OUTFILE\n", None),
        ("SELECT 1 # INTO OUTFILE", None),
        ("SELECT 1 /* INTO */", None),
        ("SELECT 1 /*!INTO OUTFILE '/tmp/x' */", "executable comments"),
        ("SELECT 1 /*M!100100 INTO @x */", "executable comments"),
        ("SELECT 'a\\' INTO OUTFILE ' FROM t", None),  # backslash escape keeps the string open
        ("SELECT 'a'' INTO' AS x", None),
        ("SELECT `INTO` FROM t", None),
        ("SELECT 1;", None),
        ("SELECT 1; ;", "several statements"),
        ("SELECT 1; SELECT 2", "several statements"),
        ("SELECT ';' AS semicolon", None),
        ("SHOW FULL COLUMNS FROM t", None),
        ("EXPLAIN EXTENDED SELECT 1", None),
        ("EXPLAIN UPDATE t SET a = 1", "locks rows"),
        ("EXPLAIN INSERT INTO t VALUES (1)", "INTO"),
        ("DESCRIBE DELETE FROM t", "DESCRIBE DELETE"),
        ("HANDLER t OPEN", "not a read"),
        ("LOAD DATA INFILE '/etc/passwd' INTO TABLE t", "not a read"),
        ("DO SLEEP(1)", "not a read"),
        ("SELECT 1 /* unterminated", "unterminated comment"),
        ("SELECT `open", "unterminated"),
    ],
)
def test_guard(sql: str, why: str | None) -> None:
    if why is None:
        check_read_only_mysql(sql)
    else:
        with pytest.raises(ReadOnlyViolation, match=why):
            check_read_only_mysql(sql)


def test_tokens_drop_comments_and_keep_quoted_text_whole() -> None:
    tokens = tokenize("SELECT `a``b`, 'x -- y' -- gone\n FROM t # gone too")
    assert [(t.kind, t.text) for t in tokens] == [
        ("word", "SELECT"),
        ("ident", "`a``b`"),
        ("punct", ","),
        ("string", "'x -- y'"),
        ("word", "FROM"),
        ("word", "T"),
    ]
