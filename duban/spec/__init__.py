"""The spec language (what a bureau's notice says in YAML): pydantic models, loading with file:line, and checks.

Imports the standard library, pydantic, PyYAML and duban's pure rules (duban.domain); never SQL, Prefect,
Apprise, FastAPI or typer.
"""
