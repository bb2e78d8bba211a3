"""Schema values built by hand for the renderer tests: one of every object kind, and a big one."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from dbarchitect.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    DefaultPrivilege,
    DomainType,
    EnumType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Identity,
    Index,
    IndexKey,
    Namespace,
    Partitioning,
    Policy,
    PrimaryKey,
    RangeType,
    Schema,
    Sequence,
    Table,
    TextSearchConfig,
    Trigger,
    UniqueConstraint,
    View,
)


def _pk(table: str, *cols: str) -> PrimaryKey:
    return PrimaryKey(name=f"{table}_pkey", columns=cols)


def _audit_trigger(name: str) -> Trigger:
    return Trigger(
        name=name,
        timing="BEFORE",
        events=("INSERT", "UPDATE"),
        for_each_row=True,
        definition=f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON t FOR EACH ROW ...",
        function="app.touch_updated_at()",
    )


def sample_schema() -> Schema:
    """A small PostgreSQL-like schema with one or more of every object kind the model has."""
    account = Table(
        schema="app",
        name="account",
        comment="Customer accounts.\nOne row per paying customer | tenant.",
        columns=(
            Column(
                name="id",
                type="bigint",
                logical="bigint",
                nullable=False,
                identity=Identity(always=True, start=1000, cache=10),
            ),
            Column(
                name="email",
                type="text",
                logical="text",
                nullable=False,
                collation="und-x-icu",
                comment="login | contact address",
            ),
            Column(
                name="status",
                type="app.account_status",
                logical="enum",
                nullable=False,
                default="'active'::app.account_status",
            ),
            Column(name="plan_id", type="integer", logical="integer"),
            Column(
                name="email_lower",
                type="text",
                logical="text",
                generated="lower(email)",
                generated_stored=True,
            ),
            Column(
                name="created_at",
                type="timestamp with time zone",
                logical="timestamptz",
                nullable=False,
                default="now()",
            ),
        ),
        primary_key=_pk("account", "id"),
        foreign_keys=(
            ForeignKey(
                name="account_plan_id_fkey",
                columns=("plan_id",),
                ref_schema="public",
                ref_table="plan",
                ref_columns=("id",),
                on_delete="SET NULL",
                deferrable=True,
                initially_deferred=True,
            ),
        ),
        uniques=(UniqueConstraint(name="account_email_key", columns=("email",)),),
        checks=(CheckConstraint(name="account_email_check", expression="(email ~~ '%@%'::text)"),),
        indexes=(
            Index(
                name="account_lower_email_idx",
                keys=(IndexKey(column="lower(email)", expression=True),),
                unique=True,
                where="(status <> 'closed'::app.account_status)",
            ),
            Index(
                name="account_created_idx",
                keys=(IndexKey(column="created_at", descending=True, nulls_first=False),),
                method="brin",
                include=("id",),
            ),
        ),
        triggers=(_audit_trigger("account_touch"),),
        policies=(
            Policy(
                name="account_tenant",
                command="SELECT",
                roles=("app_user", "auditor"),
                using="(id = (current_setting('app.account_id'::text))::bigint)",
            ),
            Policy(
                name="account_insert",
                command="INSERT",
                permissive=False,
                with_check="(status = 'active'::app.account_status)",
            ),
        ),
        rls_enabled=True,
        rls_forced=True,
    )
    plan = Table(
        schema="public",
        name="plan",
        columns=(
            Column(name="id", type="integer", logical="integer", nullable=False),
            Column(name="name", type="character varying(40)", logical="varchar", nullable=False),
            Column(name="during", type="tstzrange", logical="range"),
        ),
        primary_key=_pk("plan", "id"),
        exclusions=(
            ExclusionConstraint(
                name="plan_during_excl", definition="EXCLUDE USING gist (during WITH &&)"
            ),
        ),
    )
    payment = Table(
        schema="public",
        name="payment",
        columns=(
            Column(
                name="id",
                type="integer",
                logical="integer",
                nullable=False,
                default="nextval('payment_id_seq'::regclass)",
            ),
            Column(name="paid_at", type="date", logical="date", nullable=False),
            Column(name="account_id", type="bigint", logical="bigint", nullable=False),
        ),
        primary_key=_pk("payment", "paid_at", "id"),
        foreign_keys=(
            ForeignKey(
                name="payment_account_id_fkey",
                columns=("account_id",),
                ref_schema="app",
                ref_table="account",
                ref_columns=("id",),
                on_delete="CASCADE",
            ),
        ),
        partitioning=Partitioning(strategy="RANGE", key="paid_at"),
        indexes=(Index(name="payment_account_idx", keys=(IndexKey(column="account_id"),)),),
    )
    partitions = tuple(
        Table(
            schema="public",
            name=f"payment_2024_q{q}",
            columns=payment.columns,
            primary_key=PrimaryKey(
                name=f"payment_2024_q{q}_pkey", columns=("paid_at", "id"), inherited=True
            ),
            foreign_keys=(
                ForeignKey(
                    name="payment_account_id_fkey",
                    columns=("account_id",),
                    ref_schema="app",
                    ref_table="account",
                    ref_columns=("id",),
                    on_delete="CASCADE",
                    inherited=True,
                ),
            ),
            indexes=(
                Index(
                    name=f"payment_2024_q{q}_account_id_idx",
                    keys=(IndexKey(column="account_id"),),
                    parent="public.payment_account_idx",
                ),
            ),
            partition_of="public.payment",
            partition_bound=f"FOR VALUES FROM ('2024-0{3 * q - 2}-01') TO ('2024-0{3 * q}-28')",
        )
        for q in (1, 2)
    )
    legacy = Table(
        schema="public",
        name="legacy|log",
        unlogged=True,
        inherits=("public.base_log",),
        columns=(Column(name="line", type="text", logical="text", inherited=True),),
        options=(("fillfactor", "70"),),
        comment="A table whose name holds a pipe.",
    )
    base_log = Table(
        schema="public",
        name="base_log",
        columns=(Column(name="line", type="text", logical="text"),),
    )
    views = (
        View(
            schema="app",
            name="active_account",
            definition=" SELECT account.id,\n    account.email\n   FROM app.account\n"
            "  WHERE (account.status = 'active'::app.account_status);",
            columns=(
                Column(name="id", type="bigint", logical="bigint"),
                Column(name="email", type="text", logical="text"),
            ),
            check_option="LOCAL",
            options=(("security_invoker", "true"),),
            triggers=(
                Trigger(
                    name="active_account_insert",
                    timing="INSTEAD OF",
                    events=("INSERT",),
                    for_each_row=True,
                    definition="CREATE TRIGGER active_account_insert INSTEAD OF INSERT ...",
                    function="app.insert_account()",
                ),
            ),
            depends_on=("app.account",),  # unprefixed, as MySQL writes it
            comment="Accounts that are active.",
        ),
        View(
            schema="public",
            name="revenue_by_month",
            materialized=True,
            definition=" SELECT date_trunc('month'::text, (paid_at)::timestamp) AS month,\n"
            "    count(*) AS n\n   FROM public.payment\n  GROUP BY 1;",
            columns=(
                Column(name="month", type="timestamp without time zone", logical="timestamp"),
                Column(name="n", type="bigint", logical="bigint"),
            ),
            indexes=(
                Index(name="revenue_by_month_idx", keys=(IndexKey(column="month"),), unique=True),
            ),
            # PostgreSQL prefixes what a view depends on with its kind.
            depends_on=(
                "rel:public.payment",
                "func:public.group_concat(text)",
                "type:public.bıgınt",
            ),
        ),
    )
    functions = (
        Function(
            schema="app",
            name="touch_updated_at",
            arguments="",
            returns="trigger",
            language="plpgsql",
            body="BEGIN NEW.updated_at := now(); RETURN NEW; END",
        ),
        Function(
            schema="app",
            name="insert_account",
            returns="trigger",
            language="plpgsql",
            security_definer=True,
            config=(("search_path", "app, pg_temp"),),
        ),
        Function(
            schema="public",
            name="archive_payments",
            kind="procedure",
            arguments="IN before date",
            identity="date",
            language="sql",
        ),
        Function(
            schema="public",
            name="group_concat",
            kind="aggregate",
            arguments="text",
            identity="text",
            returns="text",
            language="internal",
            volatility="immutable",
            strict=True,
        ),
    )
    return Schema(
        dialect="postgres",
        namespaces=(
            Namespace(name="public", comment="standard public schema"),
            Namespace(name="app"),
        ),
        extensions=(Extension(name="pgcrypto", schema="public", version="1.3"),),
        collations=(
            Collation(
                schema="app",
                name="ci",
                provider="icu",
                locale="und-u-ks-level2",
                deterministic=False,
            ),
        ),
        text_search_configs=(
            TextSearchConfig(
                schema="app",
                name="simple_unaccent",
                parser="pg_catalog.default",
                mappings=(("word", ("unaccent", "simple")),),
            ),
        ),
        enums=(EnumType(schema="app", name="account_status", values=("active", "closed")),),
        domains=(
            DomainType(schema="public", name="bıgınt", base_type="bigint"),
            DomainType(
                schema="public",
                name="year",
                base_type="integer",
                nullable=False,
                checks=(
                    CheckConstraint(
                        name="year_check", expression="((VALUE >= 1901) AND (VALUE <= 2155))"
                    ),
                ),
            ),
        ),
        composite_types=(
            CompositeType(
                schema="public",
                name="money_amount",
                attributes=(
                    Column(name="amount", type="numeric(12,2)", logical="decimal"),
                    Column(name="currency", type="character(3)", logical="char"),
                ),
            ),
        ),
        ranges=(
            RangeType(
                schema="public",
                name="floatrange",
                subtype="double precision",
                subtype_diff="float8mi",
                multirange="floatmultirange",
            ),
        ),
        sequences=(
            Sequence(
                schema="public",
                name="payment_id_seq",
                type="integer",
                cache=5,
                owned_by="public.payment.id",
            ),
        ),
        tables=(account, plan, payment, *partitions, legacy, base_log),
        views=views,
        functions=functions,
        grants=(
            Grant(
                object_type="table", object="app.account", grantee="app_user", privilege="SELECT"
            ),
        ),
        default_privileges=(
            DefaultPrivilege(
                role="owner",
                object_type="table",
                grantee="app_user",
                privilege="SELECT",
                schema="app",
            ),
        ),
    )


def big_schema(tables: int = 500) -> Schema:
    """`tables` tables of eight columns, a PK, an FK to the previous table, two indexes."""
    out = []
    for i in range(tables):
        name = f"t{i:04d}"
        cols = [Column(name="id", type="bigint", logical="bigint", nullable=False)]
        cols += [
            Column(name=f"c{j}", type="text", logical="text", default=f"'v{j}'::text")
            for j in range(6)
        ]
        cols.append(Column(name="prev_id", type="bigint", logical="bigint"))
        fks: tuple[ForeignKey, ...] = ()
        if i:
            fks = (
                ForeignKey(
                    name=f"{name}_prev_fkey",
                    columns=("prev_id",),
                    ref_schema="public",
                    ref_table=f"t{i - 1:04d}",
                    ref_columns=("id",),
                ),
            )
        out.append(
            Table(
                schema="public",
                name=name,
                columns=tuple(cols),
                primary_key=_pk(name, "id"),
                foreign_keys=fks,
                indexes=(
                    Index(name=f"{name}_c0_idx", keys=(IndexKey(column="c0"),)),
                    Index(name=f"{name}_prev_idx", keys=(IndexKey(column="prev_id"),)),
                ),
            )
        )
    return Schema(dialect="postgres", namespaces=(Namespace(name="public"),), tables=tuple(out))


SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def assert_snapshot(name: str, text: str) -> None:
    """`text` equals snapshots/<name>; DBARCH_UPDATE_SNAPSHOTS=1 rewrites the file instead."""
    path = SNAPSHOTS / name
    if os.environ.get("DBARCH_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), str(path), "rendered", lineterm=""
        )
        raise AssertionError("output differs from the snapshot:\n" + "\n".join(diff))
