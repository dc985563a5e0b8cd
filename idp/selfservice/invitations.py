"""My invitations: a signed-in person accepts or declines joining one more contract.

An invitation (``directory.invitations``) is addressed to an account, never to whoever
holds a link: only that account, signed in, sees it here, and one addressed to another
account is a 404, as if it did not exist. Accept and Decline are CSRF-protected POST
forms; each closes the invitation once (a conditional UPDATE), so a double click, two tabs
or two parallel requests make one membership, and a closed or expired invitation grants
nothing (410, the page again with a message).
"""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from idp import sessions
from idp.directory import invitations
from idp.directory.invitations import AddressNotProven
from idp.directory.invitations import InvitationClosed
from idp.extensions import db
from idp.sessions import signed_in

bp = Blueprint("invitations", __name__, url_prefix="/invitations")


class InvitationForm(FlaskForm):
    """Only the CSRF token (checked for every POST by CSRFProtect): the invitation is named
    by the URL, the person by the session."""


@bp.app_template_global("pending_invitations")
def pending_invitations(account_id: int) -> int:
    """How many invitations the home page should point to."""
    return invitations.pending_count(account_id)


def _page(current: sessions.SsoSession, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "selfservice/invitations.html",
        account=current.account,
        invitations=invitations.pending_for(current.account_id),
        form=InvitationForm(),
        proof_form=InvitationForm(),
        error=error,
    ), status


@bp.get("")
@signed_in
def page(current: sessions.SsoSession) -> ResponseReturnValue:
    return _page(current)


# Ids are bounded by the route: a larger number is a 404, never a database error.
@bp.post("/<int(max=2147483647):invitation_id>/accept")
@signed_in
def accept(current: sessions.SsoSession, invitation_id: int) -> ResponseReturnValue:
    try:
        membership = invitations.accept(invitation_id, current.account)
    except (InvitationClosed, AddressNotProven) as exc:
        db.session.rollback()
        return _page(current, str(exc.message), exc.status)
    contract = membership.contract
    db.session.commit()
    flash(_("You are now a member of %(name)s (%(id)s).", name=contract.name, id=contract.id))
    return redirect(url_for("selfservice.home"))


@bp.post("/<int(max=2147483647):invitation_id>/decline")
@signed_in
def decline(current: sessions.SsoSession, invitation_id: int) -> ResponseReturnValue:
    try:
        invitation = invitations.decline(invitation_id, current.account)
    except InvitationClosed as exc:
        db.session.rollback()
        return _page(current, str(exc.message), exc.status)
    name = invitation.contract.name
    db.session.commit()
    flash(_("You have declined the invitation to %(contract)s.", contract=name))
    return redirect(url_for("invitations.page"))
