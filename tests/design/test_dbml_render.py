"""What the DBML says, line by line, for schemas loaded through real engines."""

from __future__ import annotations

from dbarchitect.codegen.dbml import name, render_dbml, string
from dbarchitect.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    IndexKey,
    PrimaryKey,
    Schema,
    Table,
)
from tests.design.test_diesel_codegen import source_schema


def test_project_enums_columns_and_refs() -> None:
    text = render_dbml(source_schema("identity_uuid_enum"), project="shop")
    assert text.startswith("// @generated automatically by dbarch\n")
    assert "Project shop {\n  database_type: 'PostgreSQL'\n" in text
    assert (
        '// where an order is\nEnum order_status {\n  "new"\n  "paid"\n  "shipped"\n'
        '  "PG-13 \\"quoted\\""\n}\n' in text
    )
    assert "  id bigint [pk, increment, not null]\n" in text
    assert "  public_id uuid [not null, unique, default: `gen_random_uuid()`]\n" in text
    assert "  email varchar(255) [not null, unique, note: 'login, lower-cased']\n" in text
    assert "  country char(2)\n" in text
    assert "  created_at timestamptz [not null, default: `now()`]\n" in text
    assert "  status order_status [not null, default: 'new']\n" in text
    assert "  tags text[] [not null, default: '{}']\n" in text
    assert '  "self" text\n' not in text and "  self text\n" in text
    assert "  paid_at timestamp\n  shipped_during interval\n" in text
    assert (
        "  Note: 'People who sign in.\\nSecond line with a quote \\' and a backslash \\\\'\n"
        in text
    )
    assert "    `(total >= (0)::numeric)` [name: 'orders_total_check']\n" in text
    assert "Ref orders_user_id_fkey: orders.user_id > users.id [delete: cascade]\n" in text
    assert "//   view public.open_orders\n" in text


def test_schemas_composite_keys_indexes_and_actions() -> None:
    text = render_dbml(source_schema("tenancy_composite_fk"))
    assert "Table saas.invoices {\n" in text
    assert "  id bigint [increment, not null]\n" in text  # bigserial: sequence default folded
    assert "    (tenant_id, id) [pk]\n" in text
    assert (
        "    (tenant_id, number) [unique, name: 'invoices_live_number_idx', type: btree,"
        " note: 'where: (deleted_at IS NULL)']\n" in text
    )
    assert "    (tenant_id, name) [unique, name: 'projects_tenant_name_key']\n" in text
    assert "  name text [not null, unique]\n" in text  # tenants_name_key, the default name
    assert (
        "Ref invoices_project_fk: saas.invoices.(tenant_id, project_id) > "
        "saas.projects.(tenant_id, id) [delete: restrict, update: cascade]\n" in text
    )
    assert (
        "Ref people_manager_id_fkey: saas.people.manager_id > saas.people.id [delete: set null]"
        in text
    )


def test_expressions_methods_domains_and_partitions() -> None:
    posts = render_dbml(source_schema("trigger_function"))
    assert "    search [name: 'posts_search_idx', note: 'using gin']\n" in posts
    assert "    `lower((title)::text)` [name: 'posts_title_lower_idx', type: btree]\n" in posts
    assert "  score positive_int [note: 'domain over integer']\n" in posts
    assert "  meta jsonb [not null, default: '{}']\n" in posts
    assert "  published boolean [not null, default: false]\n" in posts
    assert '  weight "double precision"\n' in posts
    assert "//   trigger posts_touch on public.posts\n" in posts
    assert "//   function public.touch_updated_at()\n" in posts
    rich = render_dbml(source_schema("rich_pg"))
    assert 'Table "Sales Dept".order {\n  select integer [pk, increment, not null]\n' in rich
    assert "  name_upper text [note: 'generated always as (upper(name)) stored']\n" in rich
    assert "Note: 'partitioned by RANGE (at); partitions: app.event_2024, app.event_2025'" in rich
    assert "Table app.event_2024 " not in rich
    assert "//   exclusion constraint no_overlap on Sales Dept.order\n" in rich
    pagila = render_dbml(source_schema("pagila"))
    assert (
        "//   foreign key payment_p2022_01_customer_id_fkey of partition public.payment_p2022_01"
        in pagila
    )
    assert "  rating mpaa_rating [default: 'G']\n" in pagila
    assert "  special_features text[]\n" in pagila


def test_sqlite_and_mariadb_types() -> None:
    sqlite = render_dbml(source_schema("rich_sqlite"))
    assert "Project database {\n  database_type: 'SQLite'\n" in sqlite
    assert "  id INTEGER [pk, increment]\n" in sqlite  # AUTOINCREMENT
    assert "  score NUMERIC(10,2) [default: `0 + 0`]\n" in sqlite
    assert "  nick any [default: -1]\n" in sqlite
    assert "  \"select\" VARCHAR(20) [default: `'it''s'`]\n" not in sqlite
    assert "  select VARCHAR(20) [default: `'it''s'`]\n" in sqlite
    assert 'Table "Order Line" {\n' in sqlite
    mariadb = render_dbml(source_schema("rich_mariadb"))
    assert 'Enum customer_status_enum {\n  "new"\n  "active"\n  "it\'s gone"\n}' in mariadb
    assert "  status customer_status_enum [not null, default: 'new']\n" in mariadb
    assert '  id "int(10) unsigned" [pk, increment, not null]\n' in mariadb
    assert "  email varchar(190) [not null, note: 'login, unique']\n" in mariadb


def test_escaping_and_quoting() -> None:
    assert name("plain_name") == "plain_name"
    assert name("Note") == '"Note"' and name("a b") == '"a b"' and name('q"x') == '"q\\"x"'
    assert string("it's a \\ and\nnew line") == "'it\\'s a \\\\ and\\nnew line'"
    table = Table(
        schema="public",
        name="odd table",
        columns=(
            Column(name="id", type="integer", nullable=False),
            Column(name="Note", type="text", default="'a''b'::text", comment='it\'s "x"'),
            Column(name="n", type="numeric(4,1)", default="'-1.5'::numeric"),
        ),
        primary_key=PrimaryKey(name="odd_pk", columns=("id",)),
        checks=(CheckConstraint(name="c'k", expression="(n > 0)"),),
        indexes=(
            Index(name="by_note", keys=(IndexKey(column="Note", descending=True),), method="gist"),
        ),
        foreign_keys=(
            ForeignKey(
                name="odd fk",
                columns=("id",),
                ref_schema="public",
                ref_table="odd table",
                ref_columns=("id",),
                on_delete="SET DEFAULT",
            ),
        ),
    )
    schema = Schema(
        dialect="postgres",
        tables=(table,),
        enums=(EnumType(schema="x y", name="e", values=("a\\b",)),),
    )
    text = render_dbml(schema)
    assert 'Enum "x y".e {\n  "a\\\\b"\n}' in text
    assert "  \"Note\" text [default: `'a''b'::text`, note: 'it\\'s \"x\"']\n" in text
    assert "  n numeric(4,1) [default: '-1.5']\n" in text
    assert "    \"Note\" [name: 'by_note', note: 'using gist; descending: Note']\n" in text
    assert "    `(n > 0)` [name: 'c\\'k']\n" in text
    assert 'Ref "odd fk": "odd table".id > "odd table".id [delete: set default]\n' in text
