"""Write the GraphQL schema's SDL to `schema.graphql` at the repository root.

    python -m app.graphql.export_schema            # writes ./schema.graphql
    python -m app.graphql.export_schema --check    # exit 1 if the file differs from the code
    python -m app.graphql.export_schema -o PATH    # writes PATH ("-": standard output)

The checked-in file is the API's reviewable contract: a pull request that changes the schema
shows the change there, and tests/graphql/test_schema_sdl.py fails while the file is stale.
The development schema is exported (the production one is the same types; it only refuses
introspection and suggestions).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.graphql.schema import make_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
REGENERATE = "python -m app.graphql.export_schema"


def schema_sdl() -> str:
    """The SDL of the schema as the code defines it, ending with one newline."""
    return make_schema(production=False).as_str().rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.graphql.export_schema", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=SCHEMA_FILE, help="where to write ('-': stdout)"
    )
    parser.add_argument(
        "--check", action="store_true", help="only compare; exit 1 if the file is stale"
    )
    args = parser.parse_args(argv)
    sdl = schema_sdl()
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != sdl:
            print(f"{output} is stale: run `{REGENERATE}`.", file=sys.stderr)
            return 1
        return 0
    if str(output) == "-":
        sys.stdout.write(sdl)
        return 0
    output.write_text(sdl, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
