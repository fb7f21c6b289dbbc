"""duban's own errors: each says what was attempted, what was wrong, and what to do.

    DubanError
    ├── SpecError          a campaign spec (YAML) is wrong: file, line, YAML path, message, hint
    │   └── SpecErrors     several SpecErrors found in one pass, reported together
    ├── CalendarGapError   a working-day computation fell in a year without calendar data
    ├── RegistryError      a unit code or name cannot be found, or an overlay is malformed
    ├── PlanError          a spec that validates cannot be expanded (a cycle of relative dues …)
    ├── StoreError         the database does not hold what the command needs (campaign not planned …)
    ├── SubmissionError    a submission is refused (unknown item, wrong format, bad metric …)
    ├── RequestError       a 延期申请 or a decision on it is refused (after the due, beyond the limit …)
    ├── LinkError          a unit link (portal token) is tampered with, expired or revoked
    └── DeployError        the Prefect server cannot take a deployment (none configured, unreachable, no pool)

The CLI catches only these, prints `error:` and the message in red, and exits 1. Errors a unit's staff can
meet on the portal also carry `cn`, the same message in Chinese.
"""

from __future__ import annotations

import re


class DubanError(Exception):
    """Base class of every error duban raises on purpose."""


_INT_HINT = re.compile(r";? ?use sys\.set_int_max_str_digits\(\) to increase the limit")


class SpecError(DubanError):
    """A campaign spec is wrong at a known place: `file:line path: message`."""

    key: tuple[str | int, ...] | None = None  # the YAML path as keys and indexes, where the error has one

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str = "",
        hint: str | None = None,
    ) -> None:
        self.message = _INT_HINT.sub("", message)  # Python's advice to raise its digit limit is not the user's
        self.file = file
        self.line = line
        self.path = path
        self.hint = hint
        super().__init__(str(self))

    @property
    def where(self) -> str:
        place = self.file or "<spec>"
        if self.line is not None:
            place = f"{place}:{self.line}"
        return f"{place} {self.path}".rstrip()

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        if self.hint:
            text += f"\n    {self.hint}"
        return text


class SpecErrors(SpecError):
    """Several spec errors found in one validation pass."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, file=first.file, line=first.line, path=first.path, hint=first.hint)

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{count} problem{'s' if count > 1 else ''} in the spec:"
        return "\n".join([head, *(str(e) for e in self.errors)])


class CalendarGapError(DubanError):
    """No working-day data for a year: duban will not guess."""

    def __init__(self, year: int, *, overrides_file: str | None = None) -> None:
        self.year = year
        where = overrides_file or "campaign_specs/calendar/overrides.yaml"
        super().__init__(
            f"no working-day calendar for {year}: the calendar library covers only the years whose schedule "
            f"the State Council has published. Add {year} to {where} (under `years: {year}:` list its "
            f"holidays and 调休 workdays from the 国务院办公厅 notice), then run the command again."
        )
        self.cn = (  # what a page says to the unit or operator who chose a date in that year
            f"{year}年的节假日和调休安排尚未录入督办系统（国务院办公厅通知发布后由管理员补录），无法按工作日推算{year}年的日期。"
            f"请改选已有节假日安排的年份内的日期，或请督办工作人员补录{year}年日历后再办理；本次操作未保存。"
        )


class RegistryError(DubanError):
    """A unit cannot be found or an overlay is malformed."""


class PlanError(DubanError):
    """A valid spec cannot be expanded into assignments."""


class StoreError(DubanError):
    """The database does not hold what the command needs."""


class SubmissionError(DubanError):
    """A submission is refused; the message says why and what is accepted (`cn`: the same, in Chinese)."""

    def __init__(self, message: str, *, cn: str | None = None) -> None:
        super().__init__(message)
        self.cn = cn or message


class RequestError(DubanError):
    """A 延期申请 (or a decision on one) is refused: the message says why (`cn`: the same, in Chinese)."""

    def __init__(self, message: str, *, cn: str | None = None) -> None:
        super().__init__(message)
        self.cn = cn or message


class LinkError(DubanError):
    """A unit link cannot be honoured; `cn` tells the unit's staff what to do, `reason` is for the audit log."""

    def __init__(self, message: str, *, cn: str, reason: str) -> None:
        super().__init__(message)
        self.cn = cn
        self.reason = reason


class DeployError(DubanError):
    """The Prefect server cannot take a deployment: none configured, not reachable, or no work pool."""
