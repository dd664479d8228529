"""No index on AlarmHub's tables is one another index already serves (issue 16).

Every index costs each INSERT and UPDATE of its table; the callback view inserts one delivery
per request, so a redundant index on that table is paid on the ingest path for nothing. An
index is redundant when another index of the same table starts with the same key columns,
with the same operator classes, over the same rows (the same predicate or none: a partial
index is kept for being small); unique and primary-key indexes enforce something and are never
redundant.
"""

from __future__ import annotations

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


def redundant_indexes(url: str) -> list[str]:
    rows = psql(url, INDEXES)
    found = []
    for table, name, enforces, keys, classes, predicate, expressions, included in rows:
        if enforces or expressions:
            continue
        for (
            other_table,
            other,
            _,
            other_keys,
            other_classes,
            other_predicate,
            _,
            other_included,
        ) in rows:
            same_rows = other_predicate == predicate  # a partial index is kept for its size
            twin = other_keys == keys and other_classes == classes and same_rows
            if (
                other_table == table
                and other != name
                and other_keys[: len(keys)] == keys
                and other_classes[: len(keys)] == classes
                and same_rows
                # A covering index is served only by one that has its INCLUDE columns too.
                and set(included) <= set(other_keys) | set(other_included)
                and not (twin and other > name)  # of two identical indexes, name one
            ):
                found.append(f"{table}.{name} (served by {other})")
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
