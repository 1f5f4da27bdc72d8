"""Runs the scim2-tester compliance checker (PyPI) against a SCIM server.

Usage: check.py BASE_URL TOKEN. Prints every check; exits 1 when any check
found an error (a MUST broken), 0 otherwise.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

BAD = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    bad = 0
    for r in results:
        mark = "FAIL" if r.status in BAD else "ok"
        print(f"{mark:4} {r.status.name:10} {r.resource_type or '-':6} {r.title}: {r.reason or ''}")
        if r.status in BAD:
            bad += 1
    print(f"{len(results)} checks, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
