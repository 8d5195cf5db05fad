"""Small helpers every feature's views share."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for

from portal.extensions import htmx


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means the first page."""
    return max(request.args.get(name, 1, type=int) or 1, 1)


def history_fragment(history, endpoint: str, **args) -> str:
    """An entity's change history, as the fragment its page swaps in (#history)."""
    return render_template("audit/_history.html", history=history, endpoint=endpoint, args=args)


def changed(body):
    """A response after a change: the page's history section reloads itself."""
    response = make_response(body)
    response.headers["HX-Trigger"] = "audit-changed"
    return response


def see(endpoint: str, **args):
    """After a change, go to its page: HTMX follows with a full page load, a plain form with a
    303 (so that reloading does not post again)."""
    target = url_for(endpoint, **args)
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)
