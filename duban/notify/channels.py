"""Which notifier serves a channel reference: the local sink, or Apprise for env:NAME and secret:NAME.

`env:NAME` reads the Apprise URL from an environment variable, `secret:NAME` from a Prefect Secret block
(loaded only when such a reference is used); `mail:ADDRESS` mails that address through the account
DUBAN_MAIL_SENDER names. URLs are registered with the masker as they are resolved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import cast

from duban.notify.notifier import Notifier, SinkNotifier
from duban.notify.secrets import install_log_masking, resolver
from duban.settings import Settings
from duban.store.ratelimit import Limit


def prefect_secret(name: str) -> str | None:
    """The value of Prefect Secret block `name`, or None when there is none."""
    from prefect.blocks.system import Secret

    try:
        # _sync: Prefect's sync/async dispatch takes it, though load's signature does not say so
        return cast(Secret, Secret.load(name, _sync=True)).get()  # type: ignore[call-arg]
    except ValueError:
        return None


def notifier_for(settings: Settings):
    """A function from a channel reference (sink, env:NAME, secret:NAME) to its notifier."""
    from duban.notify.apprise_notifier import AppriseNotifier

    install_log_masking()
    sink = SinkNotifier(settings.sink_dir)
    limits = {scheme: Limit(per_minute) for scheme, per_minute in settings.rate_limits.items()}
    remote = AppriseNotifier(resolver(settings.channel_env, prefect_secret, settings.mail_sender), limits)

    def pick(ref: str) -> Notifier:
        return sink if ref == "sink" else remote

    return pick


def settings_that_cannot_deliver(settings: Settings) -> list[str]:
    """DUBAN_FALLBACK_CHANNELS and DUBAN_OPERATOR_CHANNELS, when not one of their entries can be used: each entry
    kept in an environment variable that is unset or holds a URL Apprise cannot read. Said per setting, naming
    each entry and its variable, never a value (a dispatch refuses to start on them: every message sent by them
    would wait for the fix). Entries kept elsewhere (a Prefect Secret, a mailbox) are taken as usable here and
    checked at the send."""
    from duban.notify.apprise_notifier import AppriseNotifier

    install_log_masking()
    remote = AppriseNotifier(resolver(settings.channel_env, lambda _name: None, None))
    said = []
    apprise_log = logging.getLogger("apprise")
    quiet, apprise_log.disabled = apprise_log.disabled, True  # its "Could not load URL" lines: said below, better
    try:
        for name, refs in (
            ("DUBAN_FALLBACK_CHANNELS", settings.fallback_channels),
            ("DUBAN_OPERATOR_CHANNELS", settings.operator_channels),
        ):
            wrong = [
                f"entry {number} {why}"
                for number, ref in enumerate(refs, 1)
                if ref.startswith("env:") and (why := remote.misconfigured(ref))
            ]
            if refs and len(wrong) == len(refs):
                said.append(f"{name} can deliver nothing: " + "; ".join(wrong))
    finally:
        apprise_log.disabled = quiet
    return said


def unreadable_unit_channels(settings: Settings, units: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
    """The env:NAME channels of `units` (display name, channel references) whose variable is set here and holds a
    URL Apprise cannot read, each with the units whose messages would wait for the fix. A variable not set is not
    said: the machine that validates a spec is often not the one that sends."""
    from duban.notify.apprise_notifier import AppriseNotifier

    install_log_masking()
    remote = AppriseNotifier(resolver(settings.channel_env, lambda _name: None, None))
    users: dict[str, list[str]] = {}
    for display, refs in units:
        for ref in refs:
            if ref.startswith("env:") and settings.channel_env(ref[4:]):
                users.setdefault(ref, []).append(display)
    said = []
    apprise_log = logging.getLogger("apprise")
    quiet, apprise_log.disabled = apprise_log.disabled, True  # its "Could not load URL" lines: said below, better
    try:
        for ref, names in sorted(users.items()):
            if why := remote.misconfigured(ref):
                shown = "、".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                said.append(f"channel {why}: the messages of {len(names)} unit(s) ({shown}) wait until it is fixed")
    finally:
        apprise_log.disabled = quiet
    return said
