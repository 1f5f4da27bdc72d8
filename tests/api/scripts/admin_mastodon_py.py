"""Mastodon.py's admin methods against a Meetfield instance.

argv: base URL, admin token, moderator token, user token,
      pending account id, reported account id, report id.
Prints "ok" when every step behaved as Mastodon does.
"""
import sys

from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

base, admin_tok, mod_tok, user_tok, pending_id, target_id, report_id = sys.argv[1:8]


def client(tok):
    return Mastodon(access_token=tok, api_base_url=base, version_check_mode="none")


admin, mod, user = client(admin_tok), client(mod_tok), client(user_tok)

everyone = admin.admin_accounts_v2(origin="local")
names = sorted(a.username for a in everyone)
assert names == ["admin", "carol", "mod", "newbie", "user"], names
staff = admin.admin_accounts_v2(permissions="staff")
assert sorted(a.username for a in staff) == ["admin", "mod"], staff
pending = admin.admin_accounts_v2(status="pending")
assert [str(a.id) for a in pending] == [pending_id], pending
assert pending[0].approved is False
me = admin.admin_account(everyone[0].id)
assert me.account.username == me.username

# Paging by id (Mastodon.py 2.1's fetch_next cannot cast admin lists; the
# Link header itself is checked in tests/api/admin.rs).
first = admin.admin_accounts_v2(origin="local", limit=2)
assert len(first) == 2
second = admin.admin_accounts_v2(origin="local", limit=2, max_id=first[-1].id)
assert second and int(second[0].id) < int(first[-1].id), second

admin.admin_account_approve(pending_id)
assert admin.admin_account(pending_id).approved is True

# Moderation, then undoing it.
admin.admin_account_moderate(target_id, action="silence", report_id=report_id, text="spam")
t = admin.admin_account(target_id)
assert t.silenced is True, t
admin.admin_account_unsilence(target_id)
assert admin.admin_account(target_id).silenced is False
admin.admin_account_moderate(target_id, action="sensitive")
assert admin.admin_account(target_id).sensitized is True
admin.admin_account_unsensitive(target_id)
mod.admin_account_moderate(target_id, action="disable")
assert admin.admin_account(target_id).disabled is True
mod.admin_account_enable(target_id)
assert admin.admin_account(target_id).disabled is False

# Reports: the action above closed it; reopen, assign, resolve.
resolved = admin.admin_reports(resolved=True)
assert [str(r.id) for r in resolved] == [report_id], resolved
assert resolved[0].action_taken_by_account.username == "admin"
r = mod.admin_report_reopen(report_id)
assert r.action_taken is False
r = mod.admin_report_assign(report_id)
assert r.assigned_account.username == "mod", r
assert [str(x.id) for x in mod.admin_reports()] == [report_id]
r = mod.admin_report_unassign(report_id)
assert r.assigned_account is None
r = mod.admin_report_resolve(report_id)
assert r.action_taken is True
assert str(admin.admin_report(report_id).target_account.id) == target_id

# A moderator may not delete data; a user may do nothing here.
admin.admin_account_moderate(target_id, action="suspend")
try:
    mod.admin_account_delete(target_id)
    raise SystemExit("a moderator deleted an account")
except MastodonAPIError as e:
    assert "403" in str(e) or getattr(e, "args", [None, 0])[1] == 403, e
for call in (lambda: user.admin_accounts_v2(), lambda: user.admin_reports()):
    try:
        call()
        raise SystemExit("a user reached the admin API")
    except MastodonAPIError as e:
        assert "403" in str(e) or e.args[1] == 403, e
admin.admin_account_unsuspend(target_id)
assert admin.admin_account(target_id).suspended is False
try:
    admin.admin_account("999999999")
    raise SystemExit("an unknown account was found")
except MastodonNotFoundError:
    pass
# Domain blocks and allows map onto the partner policy (admins only).
blk = admin.admin_create_domain_block("py.example", severity="suspend", reject_media=True, private_comment="test")
assert blk.domain == "py.example" and blk.severity == "suspend" and blk.reject_media is True, blk
assert [b.domain for b in admin.admin_domain_blocks()] == ["py.example"]
assert admin.admin_domain_blocks(blk.id).private_comment == "test"
admin.admin_update_domain_block(blk.id, severity="noop", reject_media=True)
assert admin.admin_domain_blocks(blk.id).severity == "noop"
admin.admin_delete_domain_block(blk.id)
assert admin.admin_domain_blocks() == []
try:
    mod.admin_create_domain_block("nope.example", severity="suspend")
    raise SystemExit("a moderator blocked a domain")
except MastodonAPIError as e:
    assert e.args[1] == 403, e
allow = admin.admin_create_domain_allow("partner.example")
assert [a.domain for a in admin.admin_domain_allows()] == ["partner.example"]
admin.admin_delete_domain_allow(allow.id)
assert admin.admin_domain_allows() == []
print("ok")
