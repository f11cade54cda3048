"""The analytics store (ClickHouse): one interface, two backends, one place that runs SQL."""
