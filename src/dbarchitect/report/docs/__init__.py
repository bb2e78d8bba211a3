"""The documents of `dbarch docs`: database-design.md, database-optimization.md,
database-operations.md and a static HTML site of the same with the ERD.

`model` is a tiny document model rendered by `render_md` and `render_html`; `design`,
`optimization` and `operations` build one document each from the schema's `facts` and the
dialect's operations `guide`; `write` puts them on disk.
"""

from dbarchitect.report.docs.write import build_documents, write_docs

__all__ = ["build_documents", "write_docs"]
