"""The operations command groups, one module each: ``dataset``, ``train``, ``model``, ``stack``.

Each module holds a ``typer.Typer`` named ``app``; ``vsent.cli`` adds them to the ``vsent`` app.
"""
