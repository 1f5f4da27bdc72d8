"""A scenario driven by Mastodon.py, the Python client library, against a
running Meetfield: register an app, sign in through the OAuth page (the way a
person would, with the form and its CSRF token), post, reply, follow, read
timelines and notifications, paginate, lists, pins, mutes, markers, direct
messages (conversations), a report, profile fields, expertise search and
the directory, streaming (the library's SSE client), joining and posting to a group,
sign-up.

Usage: mastodon_py.py BASE_URL USERNAME PASSWORD OTHER_USERNAME OTHER_TOKEN
"""

import html
import re
import sys
import threading
import time

import requests
from mastodon import Mastodon, StreamListener

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow"]


def main():
    base, username, password, other, other_token = sys.argv[1:6]
    client_id, client_secret = Mastodon.create_app(
        "mastodon.py scenario", api_base_url=base, scopes=SCOPES, redirect_uris=OOB
    )
    m = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)

    # Sign in through the authorization page, as in a browser.
    session = requests.Session()
    # allow_http: the test server listens on plain http on loopback.
    page = session.get(m.auth_request_url(scopes=SCOPES, redirect_uris=OOB, allow_http=True))
    assert page.status_code == 200, page.text
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }
    assert "csrf" in fields, page.text
    fields.update(login=username, password=password, decision="allow")
    answer = session.post(base + "/oauth/authorize", data=fields)
    code = re.search(r'<code id="code">([^<]+)</code>', answer.text)
    assert code, answer.text
    m.log_in(code=html.unescape(code.group(1)), redirect_uri=OOB, scopes=SCOPES, allow_http=True)

    me = m.account_verify_credentials()
    assert me.username == username, me

    # Profile fields: the organization's first, in its order; more than four.
    assert m.instance_v2().configuration.accounts.max_profile_fields == 10
    fields = [("Pronouns", "she/her"), ("skills", "Rust,  Kubernetes"), ("Site", "Lyon"), ("Team", "Grid"), ("Desk", "4.12")]
    me = m.account_update_credentials(fields=fields, discoverable=True)
    assert [f.name for f in me.fields] == ["Skills", "Pronouns", "Site", "Team", "Desk"], me.fields
    assert me.fields[0].value == "Rust, Kubernetes", me.fields
    try:
        m.account_update_credentials(fields=[("Department", "Sales")])
        raise AssertionError("a managed field changed")
    except Exception as e:  # MastodonAPIError: 422
        assert "managed" in str(e), e

    # "Who knows X?" from a stock client: search and the directory.
    found = m.account_search("kubernetes")
    assert [a.acct for a in found] == [other], found
    found = m.search_v2("kubernets", result_type="accounts").accounts
    assert [a.acct for a in found] == [other], found
    assert other in [a.acct for a in m.directory(local=True)]

    post = m.status_post("hello from Mastodon.py #meetfield")
    assert post.tags[0].name == "meetfield", post
    reply = m.status_post("and a reply", in_reply_to_id=post.id)
    context = m.status_context(post.id)
    assert [s.id for s in context.descendants] == [reply.id], context

    friend = m.account_lookup(other)
    m.account_follow(friend.id)
    assert m.account_relationships(friend.id)[0].following

    # The other user mentions us; it shows as a notification.
    r = requests.post(
        base + "/api/v1/statuses",
        headers={"Authorization": "Bearer " + other_token},
        data={"status": "@%s welcome aboard" % username},
    )
    assert r.status_code == 200, r.text
    notes = m.notifications(types=["mention"])
    assert notes and notes[0].account.acct == other, notes

    # Home: the friend's post, our reply and our post, paged by Link headers.
    home = m.timeline_home(limit=2)
    assert len(home) == 2
    older = m.fetch_next(home)
    assert older and older[0].id == post.id, older

    # Featured tags, and post search: our own posts are always searchable.
    feat = m.featured_tag_create("meetfield")
    assert feat.name == "meetfield" and feat.statuses_count in (1, "1"), feat
    assert [t.name for t in m.featured_tags()] == ["meetfield"]
    found = m.search_v2("hello from:me", result_type="statuses").statuses
    assert [s.id for s in found] == [post.id], found
    assert m.search_v2("hello -mastodon", result_type="statuses").statuses == []
    m.featured_tag_delete(feat.id)
    assert m.featured_tags() == []

    m.status_favourite(post.id)
    assert m.status(post.id).favourites_count == 1
    m.status_delete(reply.id)
    assert m.status_context(post.id).descendants == []

    # Lists, pins, mutes and read markers.
    lst = m.list_create("partners")
    m.list_accounts_add(lst.id, [friend.id])
    assert [a.id for a in m.list_accounts(lst.id)] == [friend.id]
    assert any(s.account.id == friend.id for s in m.timeline_list(lst.id)), "list timeline"
    assert m.status_pin(post.id).pinned
    assert [s.id for s in m.account_statuses(me.id, pinned=True)] == [post.id]
    m.account_mute(friend.id)
    assert m.account_relationships(friend.id)[0].muting
    assert all(s.account.id != friend.id for s in m.timeline_home())
    m.account_unmute(friend.id)
    m.markers_set(["home"], [post.id])
    assert str(m.markers_get(["home"])["home"].last_read_id) == str(post.id)

    # Direct messages: the friend writes to us alone; the conversations list
    # shows it unread with the friend, and reading it clears the flag.
    r = requests.post(
        base + "/api/v1/statuses",
        headers={"Authorization": "Bearer " + other_token},
        data={"status": "@%s lunch at noon?" % username, "visibility": "direct"},
    )
    assert r.status_code == 200, r.text
    dm = r.json()["id"]
    convs = m.conversations()
    assert convs and str(convs[0].last_status.id) == str(dm) and convs[0].unread, convs
    assert [a.acct for a in convs[0].accounts] == [other], convs[0].accounts
    assert not m.conversations_read(convs[0].id).unread
    assert not m.conversations()[0].unread

    # A report to the moderators about the friend's message.
    report = m.report(friend.id, status_ids=[dm], comment="testing reports", category="spam")
    assert str(report.target_account.id) == str(friend.id) and not report.action_taken, report
    assert [str(s) for s in report.status_ids] == [str(dm)], report

    # Groups from a stock client: a group is an account with group=True;
    # joining is following it, posting is mentioning it, and the post comes
    # back as the group's boost.
    r = requests.post(
        base + "/api/v1/groups",
        headers={"Authorization": "Bearer " + other_token},
        json={"name": "launchteam", "display_name": "Launch team"},
    )
    assert r.status_code == 200, r.text
    group = m.account_lookup("launchteam")
    assert group.group, group
    assert m.account_follow(group.id).following
    said = m.status_post("@launchteam slides are ready")
    deadline = time.time() + 15
    while not any(
        s.reblog is not None and s.reblog.id == said.id and s.account.id == group.id for s in m.timeline_home()
    ):
        assert time.time() < deadline, "the group's boost of the post"
        time.sleep(0.2)
    r = requests.get(
        base + "/api/v1/timelines/group/%s" % group.id, headers={"Authorization": "Bearer " + other_token}
    )
    assert r.status_code == 200 and any(s["id"] == str(said.id) for s in r.json()), r.text

    # Streaming: the library finds the endpoint through the instance's
    # urls.streaming_api and reads SSE.
    class Listener(StreamListener):
        def __init__(self):
            super().__init__()
            self.updates, self.notifications = [], []
            self.changed = threading.Event()

        def on_update(self, status):
            self.updates.append(status)
            self.changed.set()

        def on_notification(self, notification):
            self.notifications.append(notification)
            self.changed.set()

    def wait_for(what, check):
        deadline = time.time() + 15
        while not check():
            assert time.time() < deadline, "no streamed " + what
            listener.changed.wait(0.2)
            listener.changed.clear()

    listener = Listener()
    handle = m.stream_user(listener, run_async=True, reconnect_async=False)
    deadline = time.time() + 15
    while not handle.is_receiving():
        assert time.time() < deadline, "stream did not connect"
        time.sleep(0.05)
    live = m.status_post("streamed to my home")
    wait_for("update", lambda: any(s.id == live.id for s in listener.updates))
    r = requests.post(
        base + "/api/v1/statuses/%s/favourite" % live.id,
        headers={"Authorization": "Bearer " + other_token},
    )
    assert r.status_code == 200, r.text
    wait_for(
        "notification",
        lambda: any(n.type == "favourite" and n.status.id == live.id for n in listener.notifications),
    )
    # No close(): it waits for the next heartbeat; the thread is a daemon.

    # Sign-up from the app (the server runs with open registrations).
    fresh = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    token = fresh.create_account(
        "newcomer", "a long enough password", "newcomer@org.example", agreement=True, scopes=SCOPES
    )
    assert token, "create_account returned no token"
    assert fresh.account_verify_credentials().username == "newcomer"
    print("mastodon.py scenario passed")


if __name__ == "__main__":
    main()
