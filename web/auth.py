"""Signing in with the link the bot sent (``/web``), and out.

The link's page does not sign in by itself (link previews and scanners open links): it shows
one button, whose POST uses the token up and starts the session. Attempts are rate-limited per
address (``web_signin_attempts``); a forged, expired or used link gets the same refusal.
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from storage import signin
from web.deps import Web, current_staff, get_web, staff_of
from web.forms import bound, csrf_ok

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def message(web: Web, request: Request, text: str, status: int = 200) -> HTMLResponse:
    return web.templates.TemplateResponse(request, "message.html",
                                          {"message": text, "staff": None}, status_code=status)


@router.get("/signin/{token}", response_class=HTMLResponse)
async def signin_page(request: Request, token: str, web: Web = Depends(get_web)):
    return web.templates.TemplateResponse(request, "signin.html", {"token": token,
                                                                   "staff": None})


@router.post("/signin", response_class=HTMLResponse)
async def signin_post(request: Request, token: str = Form(""), web: Web = Depends(get_web)):
    address = request.client.host if request.client else "-"
    if not await web.allow(web.settings.web_signin_attempts, "signin", address):
        return message(web, request, web.t.signin_too_many, 429)
    async with web.writing() as scope:
        user_id = await signin.redeem(scope.session, token=token, now=scope.now)
    if staff_of(web, user_id) is None:   # forged, expired, used, or no longer staff
        log.info("web: sign-in refused")
        return message(web, request, web.t.signin_invalid, 403)
    request.session.clear()
    request.session["uid"] = user_id
    log.info("web: user %s signed in", user_id)
    return RedirectResponse("/", status_code=303)


@router.post("/signout")
async def signout(request: Request, web: Web = Depends(get_web),
                  _staff=Depends(current_staff)):
    form = await bound(request)
    if not csrf_ok(form):
        return message(web, request, web.t.csrf_failed, 403)
    request.session.clear()
    return message(web, request, web.t.signed_out)
