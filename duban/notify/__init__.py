"""Sending: the Notifier protocol, the Apprise adapter and its vendor plugins (WeCom, DingTalk, Feishu, e-mail),
channels, secrets and what vendors' replies mean. The only package that imports Apprise.
"""
