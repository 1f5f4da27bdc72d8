"""Follow suggestions as a stock app reads them, with Mastodon.py: the v2
Suggestion entities, v1 accounts, a dismissal, suggested groups. Prints one
JSON document per step for the Rust test to check.

Usage: suggestions.py BASE_URL TOKEN DISMISS_ACCT
"""

import json
import sys

from mastodon import Mastodon


def main():
    base, token, dismiss = sys.argv[1:4]
    # version_check_mode="none": the test server's domain is not the
    # loopback address this script reaches it by.
    m = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
    v2 = m.suggestions_v2()
    print(json.dumps({"step": "v2", "items": [
        {"acct": s.account.acct, "id": str(s.account.id), "sources": list(s.sources), "source": s.source}
        for s in v2
    ]}))
    v1 = m.suggestions_v1()
    print(json.dumps({"step": "v1", "items": [a.acct for a in v1]}))
    target = next(s.account for s in v2 if s.account.acct == dismiss)
    m.suggestion_delete(target)
    print(json.dumps({"step": "dismissed", "items": [s.account.acct for s in m.suggestions_v2()]}))
    groups = m._Mastodon__api_request("GET", "/api/v1/meetfield/suggestions/groups")
    print(json.dumps({"step": "groups", "items": [g["acct"] for g in groups]}))
    print("scenario passed")


if __name__ == "__main__":
    main()
