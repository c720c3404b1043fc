"""jifa-exam: the shell on top of the domain packages.

- ``jifa.app``: what assembles the whole system (schema, migrations, demo data,
  printable papers);
- ``jifa.web``: the Flask application, one package per area;
- ``jifa.cli``: the ``jifa`` command, one module per area.

Layering: ``core`` <- ``question_bank`` <- ``exam`` <- ``analysis`` <- ``jifa``; the
command line never imports the web layer.
"""
