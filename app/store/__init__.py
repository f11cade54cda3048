"""The ClickHouse store: one interface, two backends (chdb, clickhouse-driver), the migrations,
the `events` table and the generic rollup-table machinery; one place that runs SQL."""
