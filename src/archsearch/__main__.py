"""`python -m archsearch ...`: the `archsearch` command without its console script on PATH."""

from archsearch.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
