"""The one settings object. Nothing else in duban reads os.environ."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError as PydanticSettingsError

from duban.domain.channel_refs import reference_problem
from duban.domain.quiet import QuietHours, check_kinds, parse_quiet_hours
from duban.errors import DubanError

_SCRYPT = re.compile(r"scrypt\$\d{1,8}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}")


class Settings(BaseSettings):
    """duban's settings, from `DUBAN_*` environment variables (or a `.env` file)."""

    # hide_input_in_errors: a refused secret is never echoed back in the error
    model_config = SettingsConfigDict(env_prefix="DUBAN_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    home: Path = Field(default=Path(".duban"), description="data dir: the SQLite database, files, the local sink")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite under home")
    timezone: str = Field(default="Asia/Shanghai", description="zone for specs that name none")
    spec_root: Path | None = Field(
        default=None, description="a folder whose files every spec may name besides its own folder's (shared units/)"
    )
    calendar_file: Path | None = Field(
        default=None, description="working-day overrides; default calendar/overrides.yaml beside the spec"
    )
    fallback_channels: list[str] = Field(
        default_factory=lambda: ["sink"],
        description="channels for a unit whose overlay names none; 'sink' is the local message file",
    )
    mail_sender: str | None = Field(
        default=None,
        description="the SMTP account that mails a unit's own address (mail:ADDRESS, a 名录's 邮箱 column): env:NAME "
        "or secret:NAME holding its mailtos://user:pass@host?from=… URL",
    )
    quiet_hours: str = Field(
        default="22:00-07:30", description="non-urgent messages wait until the end; empty, off or none: no quiet hours"
    )
    portal_url: str | None = Field(default=None, description="base address of the upload portal, for links")
    urgent_kinds: list[str] = Field(
        default_factory=list, description='message kinds sent even in quiet hours, e.g. ["escalation"]'
    )
    operator_channels: list[str] = Field(
        default_factory=lambda: ["sink"], description="channels of the operators' daily digest"
    )
    max_attempts: int = Field(default=5, ge=1, description="tries before a message becomes dead letter")
    tidy_after: int = Field(
        default=20_000,
        ge=1,
        description="a tick that changed this many assignments or more vacuums their tables after it (PostgreSQL)",
    )
    writers: int = Field(
        default=2,
        ge=1,
        le=8,
        description="PostgreSQL: transactions at once, each on its own connection, that share a stage opening of "
        "20,000 units or more and its messages (the cores the database server may use)",
    )
    dispatch_concurrency: int = Field(
        default=16,
        ge=1,
        le=64,
        description="sends in flight per dispatcher (a 50 ms bot reply then costs latency, not throughput)",
    )
    rate_limits: dict[str, int] = Field(
        default_factory=lambda: {"wecombot": 20, "dingtalk": 20, "feishu": 100},
        description="messages per minute per bot, by Apprise URL scheme (held across processes)",
    )

    portal_secret: SecretStr | None = Field(
        default=None, description="key that signs unit links and operator sessions; default: generated under home"
    )
    link_days: int = Field(default=45, ge=1, le=366, description="days a unit link in a message stays valid")
    upload_max_mb: int = Field(default=20, ge=1, le=2048, description="the largest file a unit may upload, MB")
    operators: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description="operator logins {name: scrypt hash} (DUBAN_OPERATORS); "
        "`duban portal password` keeps them under home",
    )

    trusted_proxies: str = Field(
        default="",
        description="reverse proxies whose X-Forwarded-For/-Proto the portal believes: addresses or "
        "networks, comma-separated (e.g. 127.0.0.1 or 10.0.0.0/24); none by default, so the address a lockout "
        "and the audit log use is the connection's own",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"DUBAN_TRUSTED_PROXIES: {part!r} is not an address or network such as 127.0.0.1 or 10.0.0.0/24"
                ) from None
        return value

    @property
    def proxy_networks(self) -> list:
        """DUBAN_TRUSTED_PROXIES as address networks."""
        return [ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip()]

    @field_validator("portal_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and _placeholder(value.get_secret_value()):
            raise ValueError(
                "DUBAN_PORTAL_SECRET looks like a placeholder or is too weak (it needs 32+ random characters): "
                'generate one with `python -c "import secrets; print(secrets.token_urlsafe(48))"`, or unset it '
                "to let duban keep a generated key under DUBAN_HOME"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"DUBAN_TIMEZONE must be a time zone of the IANA database, e.g. Asia/Shanghai (got {value[:40]!r})"
            ) from None
        return value

    @field_validator("portal_url")
    @classmethod
    def _portal_address(cls, value: str | None) -> str | None:  # DUBAN_PORTAL_URL= (empty) unsets it, as in a .env
        return None if value is None or not value.strip() else portal_address(value, "DUBAN_PORTAL_URL")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        parse_quiet_hours(value)  # refused at start, not at the first tick
        return value

    @field_validator("fallback_channels", "operator_channels")
    @classmethod
    def _channel_references(cls, value: list[str], info) -> list[str]:
        name = "DUBAN_" + info.field_name.upper()
        if not value:  # a message with no channel to try could only go dead
            raise ValueError(
                f"{name}: empty, so "
                + (
                    "a unit without channels of its own"
                    if name == "DUBAN_FALLBACK_CHANNELS"
                    else "the operators' digest"
                )
                + ' would have nowhere to go and its messages would be dead letters: name a channel, e.g. ["sink"] '
                'for the local message file or ["env:NAME"] of a variable holding the channel\'s Apprise URL'
            )
        for number, ref in enumerate(value, 1):
            if wrong := reference_problem(ref):  # never echo the entry: a URL written here carries the bot's key
                raise ValueError(
                    f"{name}: entry {number} is not a channel reference ({wrong}); put the channel's Apprise URL, "
                    "with its key, in that environment variable or Prefect Secret"
                )
        return value

    @field_validator("mail_sender")
    @classmethod
    def _sender_reference(cls, value: str | None) -> str | None:
        if value is None or not value.strip():  # DUBAN_MAIL_SENDER= (empty) unsets it, as in a .env
            return None
        if not value.startswith(("env:", "secret:")) or reference_problem(value):  # never echo it: it may be a URL
            raise ValueError(
                "DUBAN_MAIL_SENDER is not env:NAME or secret:NAME: put the SMTP account's mailtos://user:pass@host?"
                "from=… URL in that environment variable or Prefect Secret, and name it here"
            )
        return value

    @field_validator("rate_limits")
    @classmethod
    def _positive_rates(cls, value: dict[str, int]) -> dict[str, int]:
        for scheme, per_minute in value.items():
            if not 1 <= per_minute <= 100_000:
                raise ValueError(
                    f"DUBAN_RATE_LIMITS: {scheme[:20]!r} has {per_minute} messages per minute; write a whole number "
                    "from 1 to 100000 (a bot's limit, e.g. 20 for wecombot), or leave the scheme out for no limit"
                )
        return value

    @field_validator("operators")
    @classmethod
    def _hashes_only(cls, value: dict[str, str]) -> dict[str, str]:
        for name, encoded in value.items():
            if not isinstance(encoded, str) or not _SCRYPT.fullmatch(encoded):  # never echo it: it may be a password
                raise ValueError(
                    f"DUBAN_OPERATORS: the login {name[:40]!r} has no scrypt hash (a password is never written "
                    "here): set it with `duban portal password --name NAME`, which keeps the hash under DUBAN_HOME"
                )
        return value

    @field_validator("urgent_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        return check_kinds(value)

    def quiet(self) -> QuietHours:
        """The quiet-hours policy every composer and dispatcher applies (with the urgent kinds)."""
        return QuietHours.parse(self.quiet_hours, self.urgent_kinds)

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

    @property
    def upload_max_bytes(self) -> int:
        return self.upload_max_mb * 1024 * 1024

    def portal_key(self) -> bytes:
        """The portal signing key: DUBAN_PORTAL_SECRET, else one generated once into home/portal_secret (0600)."""
        if self.portal_secret is not None:
            return self.portal_secret.get_secret_value().encode()
        path = self.home / "portal_secret"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48) + "\n")
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return path.read_text().strip().encode()

    @property
    def operators_file(self) -> Path:
        return self.home / "operators.json"

    def operator_hashes(self) -> dict[str, str]:
        """Operator logins: the ones kept under home (by `duban portal password`), then DUBAN_OPERATORS."""
        kept = {}
        if self.operators_file.is_file():
            kept = json.loads(self.operators_file.read_text(encoding="utf-8"))
        return {**kept, **self.operators}


_PLACEHOLDERS = ("changeme", "change_me", "change-me", "placeholder", "example", "xxxx", "todo", "<", "your")


def _placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return len(lowered) < 32 or len(set(lowered)) < 10 or any(p in lowered for p in _PLACEHOLDERS)


class SettingsError(DubanError):
    """A `DUBAN_*` setting is refused at start: which variable, what is wrong (never the value of a secret)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()` after changing the environment).

    A malformed setting stops the command, the portal or the flow at its start with one line per variable."""
    try:
        return Settings()
    except PydanticSettingsError as exc:  # a value that is not JSON where JSON is expected (lists, maps)
        field = re.search(r'field "(\w+)"', str(exc))
        name = "DUBAN_" + field.group(1).upper() if field else "a DUBAN_* variable"
        raise SettingsError(
            f'{name}: not valid JSON (write a list as ["a", "b"] and a map as {{"wecombot": 20}})'
        ) from None
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "DUBAN_" + str(error["loc"][0]).upper() if error["loc"] else "DUBAN_*"
            message = error["msg"].removeprefix("Value error, ")
            lines.append(message if message.startswith(name) else f"{name}: {message}")
        raise SettingsError("; ".join(lines)) from None


def portal_address(value: str, where: str) -> str:
    """The portal's base address as every unit's link begins with it: http or https, a host, no query, fragment,
    credentials, spaces, control or direction characters (a link staff tap on a phone; `javascript:`, `file:` and
    the like would put something else in every message). ValueError names `where` it came from and what is wrong,
    never the value (it may hold a password)."""
    from urllib.parse import urlsplit

    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        parts = None
    wrong = None
    if parts is None:
        wrong = "it is not a web address"
    elif parts.scheme not in ("http", "https"):
        wrong = "it does not begin with http:// or https://"
    elif "@" in parts.netloc:
        wrong = "it holds a user name or password (links would carry it to every unit)"
    elif not parts.hostname:
        wrong = "it names no host"
    elif parts.query or parts.fragment:
        wrong = "it has a query (?) or fragment (#)"
    elif any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text):
        wrong = "it holds spaces, control or invisible characters"
    elif "/../" in f"{parts.path}/" or "/./" in f"{parts.path}/":
        wrong = "its path climbs with . or .."
    if wrong:
        raise ValueError(
            f"{where} must be the portal's address, http:// or https:// and a host, e.g. https://duban.example.gov.cn: "
            f"{wrong}"
        )
    return text


def quiet_policy(quiet: QuietHours | None = None) -> QuietHours:
    """The quiet hours and urgent kinds to apply, one rule for every caller (tick, compose, dispatch, amend, submit,
    simulate): the policy given, else the settings' DUBAN_QUIET_HOURS and DUBAN_URGENT_KINDS."""
    return quiet if quiet is not None else get_settings().quiet()
