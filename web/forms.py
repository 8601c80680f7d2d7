"""Forms of the workspace: WTForms, with its session-bound CSRF token on every form that
changes something (``SessionCSRF``: an HMAC of the session's secret and a time limit)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from wtforms import Form
from wtforms.csrf.session import SessionCSRF


class CsrfForm(Form):
    class Meta:
        csrf = True
        csrf_class = SessionCSRF
        csrf_field_name = "csrf_token"


def csrf_meta(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {"csrf_context": request.session, "csrf_secret": state.csrf_secret,
            "csrf_time_limit": timedelta(hours=state.web.settings.web_session_hours)}


async def bound(request: Request, form_class: type[CsrfForm] = CsrfForm, **kw) -> CsrfForm:
    """The form filled from the request (POST) or empty (GET), CSRF checked on validate."""
    data = await request.form() if request.method == "POST" else None
    return form_class(formdata=data, meta=csrf_meta(request), **kw)


def csrf_ok(form: CsrfForm) -> bool:
    """The CSRF token alone (the caller checks the other fields)."""
    field = form.csrf_token
    return field.validate(form) and not field.errors


def csrf_value(request: Request) -> str:
    """The CSRF token for the forms of a page about to be shown."""
    return CsrfForm(meta=csrf_meta(request)).csrf_token.current_token
