"""The shell's own parts: the complete schema, migrations, demo data and printable papers."""
