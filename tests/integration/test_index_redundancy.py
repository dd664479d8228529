"""No index on AlarmHub's tables is one another index already serves (issue 16).

Every index costs each INSERT and UPDATE of its table; the callback view inserts one delivery
per request, so a redundant index on that table is paid on the ingest path for nothing. An
index is redundant when another index of the same table starts with the same key columns,
with the same operator classes, over the same rows (the same predicate or none: a partial
index is kept for being small); unique and primary-key indexes enforce something and are never
redundant.
"""

from __future__ import annotations

from typing import NamedTuple

from tests.support.services import PostgresServer, psql

# Key columns, operator classes, INCLUDE columns and predicate of every index of the app's tables.
INDEXES = """
SELECT t.relname, c.relname, i.indisunique OR i.indisprimary,
       (string_to_array(i.indkey::text, ' '))[1:i.indnkeyatts],
       (string_to_array(i.indclass::text, ' '))[1:i.indnkeyatts],
       COALESCE(pg_get_expr(i.indpred, i.indrelid), ''),
       i.indexprs IS NOT NULL,
       (string_to_array(i.indkey::text, ' '))[i.indnkeyatts + 1:]
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND t.relname LIKE 'alarms\\_%'
"""


class IndexInfo(NamedTuple):
    table: str
    name: str
    enforces: bool  # unique or primary key
    keys: list[str]
    classes: list[str]
    predicate: str
    expressions: bool
    included: list[str]


def serves(other: IndexInfo, index: IndexInfo) -> bool:
    """Whether ``other`` answers every look-up ``index`` answers, over the same rows."""
    n = len(index.keys)
    return (
        other.table == index.table
        and other.name != index.name
        and other.keys[:n] == index.keys
        and other.classes[:n] == index.classes
        and other.predicate == index.predicate  # a partial index is kept for its size
        # A covering index is served only by one that has its INCLUDE columns too.
        and set(index.included) <= set(other.keys) | set(other.included)
    )


def redundant_indexes(url: str) -> list[str]:
    indexes = [IndexInfo(*row) for row in psql(url, INDEXES)]
    found = []
    for index in indexes:
        if index.enforces or index.expressions:
            continue
        for other in indexes:
            # Of two identical indexes, name one.
            twin = serves(index, other)
            if serves(other, index) and not (twin and other.name > index.name):
                found.append(f"{index.table}.{index.name} (served by {other.name})")
                break
    return sorted(found)


def test_no_index_is_served_by_another_of_its_table(postgres: PostgresServer) -> None:
    assert redundant_indexes(postgres.url) == []


def test_deliveries_have_no_prefix_search_index(postgres: PostgresServer) -> None:
    # sessionId is matched exactly (admin search, the API filter): a LIKE pattern index on the
    # per-callback table would be one more write for every callback and no read.
    pattern_indexes = psql(
        postgres.url,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_opclass o ON o.oid = ANY(i.indclass) "
        "WHERE i.indrelid = 'alarms_delivery'::regclass AND o.opcname LIKE '%%pattern_ops'",
    )
    assert pattern_indexes == []


def test_only_duplicates_are_in_the_duplicate_of_index(postgres: PostgresServer) -> None:
    [(predicate,)] = psql(
        postgres.url,
        "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'delivery_duplicate_of_idx'",
    )
    assert predicate == "(duplicate_of_id IS NOT NULL)"
