"""An aiosmtpd server on loopback that refuses every login (535) and logs each attempt.

Usage: python3 refuse_auth.py PORT LOGFILE. Runs until killed. Used by tests/delivery_safe.rs.
"""
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

PORT = int(sys.argv[1])
LOG = sys.argv[2]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with open(LOG, "a") as f:
            f.write("data\n")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    with open(LOG, "a") as f:
        f.write("auth\n")
    return AuthResult(success=False, handled=False)


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    authenticator=authenticator,
    auth_require_tls=False,
    auth_required=True,
)
controller.start()
with open(LOG, "a") as f:
    f.write("ready\n")
while True:
    time.sleep(1)
