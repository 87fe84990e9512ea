"""The `archsearch` command line: thin shells over the public API."""
