"""Pure rules: the state machine, working days, timelines, planning, sampling, message rendering, file checks.

Time is always passed in. Imports the standard library, pydantic, pendulum, Jinja2, openpyxl and duban.spec;
never SQLAlchemy, Prefect, Apprise, FastAPI or typer (import-linter holds the line in CI).
"""
