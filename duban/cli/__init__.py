"""The `duban` command (typer): main.py holds the app, one module per command group. An adapter over
duban.services and duban.views."""
