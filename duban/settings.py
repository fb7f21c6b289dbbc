"""The one settings object. Nothing else in duban reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """duban's settings, from `DUBAN_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="DUBAN_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".duban"), description="data dir: the SQLite database, files, the local sink")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite under home")
    timezone: str = Field(default="Asia/Shanghai", description="zone for specs that name none")
    calendar_file: Path | None = Field(
        default=None, description="working-day overrides; default calendar/overrides.yaml beside the spec"
    )
    fallback_channels: list[str] = Field(
        default_factory=lambda: ["sink"],
        description="channels for a unit whose overlay names none; 'sink' is the local message file",
    )
    quiet_hours: str = Field(default="22:00-07:30", description="non-urgent messages wait until the end")
    portal_url: str | None = Field(default=None, description="base address of the upload portal, for links")
    urgent_kinds: list[str] = Field(
        default_factory=list, description="message kinds sent even in quiet hours, e.g. [\"escalation\"]"
    )
    operator_channels: list[str] = Field(
        default_factory=lambda: ["sink"], description="channels of the operators' daily digest"
    )
    max_attempts: int = Field(default=5, ge=1, description="tries before a message becomes dead letter")
    dispatch_concurrency: int = Field(
        default=16, ge=1, le=64, description="sends in flight per dispatcher (a 50 ms bot reply then costs latency, not throughput)"
    )
    rate_limits: dict[str, int] = Field(
        default_factory=lambda: {"wecombot": 20, "dingtalk": 20, "feishu": 100},
        description="messages per minute per bot, by Apprise URL scheme (held across processes)",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        start, sep, end = value.partition("-")
        if not sep or len(start.split(":")) != 2 or len(end.split(":")) != 2:
            raise ValueError(f"quiet_hours must look like 22:00-07:30, got {value!r}")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'duban.db').resolve()}"

    def channel_env(self, name: str) -> str | None:
        """The Apprise URL kept in environment variable `name` (a channel reference env:NAME)."""
        return os.environ.get(name)

    @property
    def sink_dir(self) -> Path:
        return self.home / "sink"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()` after changing the environment)."""
    return Settings()
