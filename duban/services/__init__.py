"""Use cases, one function each, one transaction each: tick, compose, dispatch, submit, excuse, amend, scores,
roll-ups, links, logins. The CLI, the portal, the Prefect tasks and simulate call these alike.

Imports duban.domain, duban.store, duban.notify and duban.views.
"""
