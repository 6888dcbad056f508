"""A Citus layout for the PostgreSQL store, written down and checked against the live schema.

Citus spreads a *distributed* table over worker nodes by the hash of one column and copies a
*reference* table to every node. The layout below co-locates everything that hangs off an
article on the article id, so an article's vector, buckets, visits, marks, comments and
saved-search matches sit on its shard; a story's followers sit on the story's shard; small
tables every query joins are reference tables.

Citus cannot be installed here (it is not packaged for Debian), so `layout_problems` checks
the layout against Citus's rules on a plain PostgreSQL schema: every table has a place in
it; a primary key or unique constraint of a distributed table includes its distribution
column; a foreign key between distributed tables joins co-located tables on their
distribution columns; no reference table points at a distributed one. What it reports is
what the schema must change before `create_distributed_table` accepts it (README:
"Scale-out").
"""

from __future__ import annotations

# table -> distribution column (tables with the same colocation group share shards by value)
DISTRIBUTED: dict[str, str] = {
    "articles": "id",
    "embeddings": "article_id",
    "removed_vectors": "article_id",
    "minhash_buckets": "article_id",
    "visits": "article_id",
    "visit_totals": "article_id",
    "visit_seen": "article_id",
    "reader_marks": "article_id",
    "comments": "article_id",
    "stories": "id",
    "feed_entries": "source_id",
    "saved_search_matches": "article_id",
    "followed_stories": "story_id",
}
COLOCATION = {  # tables co-located with articles (hash of the article id)
    "articles", "embeddings", "removed_vectors", "minhash_buckets", "visits",
    "visit_totals", "visit_seen", "reader_marks", "comments", "saved_search_matches",
}
STORY_COLOCATION = {"stories", "followed_stories"}  # hash of the story id
REFERENCE = (
    "meta", "sources", "accounts", "sessions", "api_tokens", "keyword_configs",
    "api_passwords", "saved_searches",
)
LOCAL = ("migrations",)  # the coordinator's own


def _group(table: str) -> str:
    if table in COLOCATION:
        return "articles"
    return "stories" if table in STORY_COLOCATION else table


def layout_problems(conn) -> list[str]:
    """What keeps the current schema (of `conn`'s current schema) from this layout."""
    problems = []
    tables = {
        r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    placed = set(DISTRIBUTED) | set(REFERENCE) | set(LOCAL)
    problems += [f"{t}: not in the layout" for t in sorted(tables - placed)]
    problems += [f"{t}: in the layout, not in the schema" for t in sorted(placed - tables)]
    for table, name, columns in conn.execute(
        "SELECT t.relname, i.relname, array_agg(a.attname::text ORDER BY a.attnum) "
        "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey) "
        "WHERE n.nspname = current_schema() AND x.indisunique "
        "GROUP BY t.relname, i.relname ORDER BY 1, 2"
    ):
        column = DISTRIBUTED.get(table)
        named = [c for c in columns if c] or ["an expression"]
        if column is not None and column not in named:
            problems.append(
                f"{table}: unique {name} ({', '.join(named)}) lacks the distribution column "
                f"{column}"
            )
    for table, name, columns, target, target_columns in conn.execute(
        "SELECT t.relname, c.conname, "
        "(SELECT array_agg(p.attname::text ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY"
        " AS k(num, i) JOIN pg_attribute p ON p.attrelid = c.conrelid AND p.attnum = k.num), "
        "r.relname, "
        "(SELECT array_agg(p.attname::text ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY"
        " AS k(num, i) JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = k.num) "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2"
    ):
        if table in REFERENCE and target in DISTRIBUTED:
            problems.append(f"{table}: reference table points at distributed {target} ({name})")
        if table in DISTRIBUTED and target in DISTRIBUTED:
            pairs = dict(zip(columns, target_columns, strict=True))
            if (_group(table) != _group(target)
                    or pairs.get(DISTRIBUTED[table]) != DISTRIBUTED[target]):
                problems.append(
                    f"{table}: foreign key {name} ({', '.join(columns)}) -> "
                    f"{target} crosses shards"
                )
    return problems
