"""The foundation every area builds on: configuration, database, errors, audit log,
Excel helpers, the organisation tree and roster (``core.org``) and accounts with their
access scope (``core.accounts``). It imports no domain package and no web framework."""
