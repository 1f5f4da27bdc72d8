"""Announcements through Mastodon.py against a running Meetfield: one made
with the CLI before, listed, dismissed, reacted to; then, while the user
stream is open, one published, reacted to and deleted with the CLI (on
SQLite the server's workers tell the streams).

Usage: announcements.py BASE_URL TOKEN OTHER_TOKEN CLI
CLI is an executable that runs `meetfield` with the server's settings.
"""

import subprocess
import sys
import threading
import time

from mastodon import Mastodon, StreamListener


def cli(path, *args):
    out = subprocess.run([path, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def main():
    base, token, other_token, cli_path = sys.argv[1:5]
    m = Mastodon(access_token=token, api_base_url=base)
    other = Mastodon(access_token=other_token, api_base_url=base)

    first = m.announcements()
    assert len(first) == 1, first
    a = first[0]
    assert "Town hall" in a.content and a.read is False, a
    assert [t["name"] for t in a.tags] == ["townhall"], a.tags
    assert a.all_day is True and a.starts_at is not None, a

    m.announcement_reaction_create(a.id, "👍")
    other.announcement_reaction_create(a.id, "👍")
    seen = other.announcements()[0]
    assert [(r["name"], r["count"], r["me"]) for r in seen.reactions] == [("👍", 2, True)], seen.reactions
    m.announcement_reaction_delete(a.id, "👍")
    assert other.announcements()[0].reactions[0]["count"] == 1
    m.announcement_dismiss(a.id)
    assert m.announcements() == [], "dismissed"
    assert len(other.announcements()) == 1, "others still see it"

    class Listener(StreamListener):
        def __init__(self):
            super().__init__()
            self.published, self.reactions, self.deleted = [], [], []
            self.changed = threading.Event()

        def on_announcement(self, announcement):
            self.published.append(announcement)
            self.changed.set()

        def on_announcement_reaction(self, reaction):
            self.reactions.append(reaction)
            self.changed.set()

        def on_announcement_delete(self, announcement_id):
            self.deleted.append(str(announcement_id))
            self.changed.set()

    listener = Listener()

    def wait_for(what, check):
        deadline = time.time() + 20
        while not check():
            assert time.time() < deadline, "no streamed " + what
            listener.changed.wait(0.2)
            listener.changed.clear()

    handle = m.stream_user(listener, run_async=True, reconnect_async=False)
    deadline = time.time() + 15
    while not handle.is_receiving():
        assert time.time() < deadline, "stream did not connect"
        time.sleep(0.05)

    out = cli(cli_path, "admin", "announcement", "create", "Badge readers down until noon")
    new_id = out.split()[1]
    wait_for("announcement", lambda: any(str(x.id) == new_id for x in listener.published))
    got = next(x for x in listener.published if str(x.id) == new_id)
    assert got.content == "<p>Badge readers down until noon</p>", got

    other.announcement_reaction_create(new_id, "🎉")
    wait_for("reaction", lambda: any(str(r.announcement_id) == new_id for r in listener.reactions))
    r = next(r for r in listener.reactions if str(r.announcement_id) == new_id)
    assert (r.name, r.count) == ("🎉", 1), r

    cli(cli_path, "admin", "announcement", "delete", new_id)
    wait_for("delete", lambda: new_id in listener.deleted)
    assert all(str(x.id) != new_id for x in other.announcements())
    print("scenario passed")


if __name__ == "__main__":
    main()
