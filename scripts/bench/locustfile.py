# Locust's side of scripts/bench-runner.sh (the comparison the harness is measured against).
# Two user classes; the script picks one by name on Locust's command line:
#   RpsUser       GET preLoginStatus back-to-back (the req/s case: same endpoint as wrk, plain
#                 goose and the harness).
#   LongPollUser  what a harness agent does in scripts/bench/longpoll.yaml: a token, login,
#                 agentStatus available, then one held GET messages after another (the
#                 simulator holds each for its long_poll_hold); the token is fetched again before
#                 it expires (the simulator's live 59 s).
# Requests are named, so Locust keeps one stats entry per operation, not one per URL.
# Credentials come from the environment, as for the harness (AEAPI_CLIENT_ID,
# AEAPI_CLIENT_SECRET, AGENT_PASSWORD); agents are agent1, agent2, ... in spawn order.
import base64
import itertools
import os
import time

from locust import FastHttpUser, constant, task

API = "/engagementAPI/v2/agent"
TOKEN_PATH = "/oauth-server/oauth/token"
CLIENT_ID = os.environ.get("AEAPI_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("AEAPI_CLIENT_SECRET", "")
PASSWORD = os.environ.get("AGENT_PASSWORD", "")
BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
# Refetch the token this long before it expires.
TOKEN_MARGIN_S = 10
NEXT_AGENT = itertools.count(1)


class RpsUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def pre_login_status(self):
        self.client.get(f"{API}/preLoginStatus?username=agent1&output=json", name="preLoginStatus")


class LongPollUser(FastHttpUser):
    wait_time = constant(0)
    # Longer than the simulator's hold (20 s in scripts/bench/sim.yaml).
    network_timeout = 40.0
    connection_timeout = 10.0

    def on_start(self):
        self.username = f"agent{next(NEXT_AGENT)}"
        self.token = None
        self.token_until = 0.0
        self.registered_id = None
        self.user_id = None

    def post_ok(self, name, path, **kwargs):
        """POST PATH as NAME; anything but 200 is a failure. The JSON body, or None."""
        with self.client.post(path, name=name, catch_response=True, **kwargs) as r:
            if r.status_code != 200:
                r.failure(f"{name}: status {r.status_code}")
                return None
            return r.json()

    def bearer(self):
        if self.token is None or time.monotonic() >= self.token_until:
            body = self.post_ok(
                "token",
                TOKEN_PATH,
                data="grant_type=client_credentials",
                headers={
                    "Authorization": f"Basic {BASIC}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            if body is None:
                return None
            self.token = body["access_token"]
            self.token_until = time.monotonic() + float(body.get("expires_in", 60)) - TOKEN_MARGIN_S
        return {"Authorization": f"Bearer {self.token}"}

    def log_in(self):
        headers = self.bearer()
        if headers is None:
            return False
        body = self.post_ok(
            "login",
            f"{API}/login?output=json",
            json={"username": self.username, "password": PASSWORD},
            headers=headers,
        )
        if body is None:
            return False
        self.registered_id = body.get("registeredId")
        self.user_id = body.get("userId")
        r = self.client.post(
            f"{API}/agentStatus?registeredId={self.registered_id}&output=json",
            json={"agentId": self.user_id, "state": "available"},
            headers=headers,
            name="agentStatus",
        )
        return r.status_code == 200

    @task
    def poll(self):
        if self.registered_id is None and not self.log_in():
            time.sleep(1)
            return
        headers = self.bearer()
        if headers is None:
            time.sleep(1)
            return
        self.client.get(
            f"{API}/messages?registeredId={self.registered_id}&agentId={self.username}"
            "&instantResponse=false&output=json",
            headers=headers,
            name="messages.get",
        )
