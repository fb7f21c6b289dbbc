"""The upload portal (报送平台): units' pages behind signed links, the operators' dashboard, a small JSON API.

An adapter: FastAPI and Jinja2 pages over the domain (duban.services.submit, duban.views, duban.views.summary_table).
"""

from duban.web.app import create_app

__all__ = ["create_app"]
