"""AI cost reports (CONTRACT §4): their figures, rollup tables, planner, write-time
attribution and reports."""
