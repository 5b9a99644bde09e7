"""Locust users of bench/load.py (run by it: ``locust -f bench/load_users.py``).

Every request carries the firm's host name (the firm comes from the host only) and goes to the
loopback server; any status other than 200, a redirect included (a lost session redirects to
the sign-in page), counts as an error. bench/load.py passes the firm and the ids to visit in
``LOAD_*`` environment variables. Users wait 1 to 3 s between requests.
"""

import os
import random
import re
import sys
from typing import Any

import gevent
from locust import FastHttpUser, between, events, task
from locust.env import Environment

HOST = os.environ["LOAD_HOST"]
ACCOUNT_IDS = [int(i) for i in os.environ["LOAD_ACCOUNT_IDS"].split(",")]
PROPOSAL_IDS = [int(i) for i in os.environ["LOAD_PROPOSAL_IDS"].split(",")]
RUN_ID = int(os.environ["LOAD_RUN_ID"])
MODEL_ID = int(os.environ["LOAD_MODEL_ID"])
ACCOUNT_PAGES = int(os.environ["LOAD_ACCOUNT_PAGES"])
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
WARMUP_S = float(os.environ["LOAD_WARMUP_S"])
RUN_S = float(os.environ["LOAD_RUN_S"])
MEASURING_FLAG = os.environ.get("LOAD_MEASURING_FLAG", "")
_signed_in: list[object] = []
_environment: list[Environment] = []


@events.init.add_listener
def _keep_environment(environment: Environment, **_kwargs: Any) -> None:
    _environment.append(environment)


def _signed_in_once(user: object) -> None:
    """Count sign-ins; ``WARMUP_S`` after the last one, measure for ``RUN_S`` seconds, quit.

    Every user signs in once (a scrypt password hash each): the figures are the steady state
    of the signed-in users, not the sign-in burst. The flag file tells bench/load.py when the
    measured window starts.
    """
    _signed_in.append(user)
    environment = _environment[0]
    if len(_signed_in) == environment.parsed_options.num_users:

        def reset() -> None:
            environment.stats.reset_all()
            if MEASURING_FLAG:
                with open(MEASURING_FLAG, "w"):
                    pass
            if environment.runner is not None:
                gevent.spawn_later(RUN_S, environment.runner.quit)

        gevent.spawn_later(WARMUP_S, reset)


class _FirmUser(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)

    def get(self, path: str, name: str, **headers: str) -> str:
        """GET ``path``; anything but 200 is a failure. Returns the body."""
        with self.client.get(
            path,
            name=name,
            headers={"Host": HOST, **headers},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return ""
            return response.text or ""


class PageUser(_FirmUser):
    """A signed-in firm user clicking through the pages (session cookie)."""

    weight = 3

    def on_start(self) -> None:
        """Sign in through the form, as a browser does."""
        token = CSRF.search(self.get("/login/", "/login/"))
        if token is None:
            raise RuntimeError("no CSRF token on the sign-in page")
        with self.client.post(
            "/login/",
            name="/login/ POST",
            data={
                "username": os.environ["LOAD_USERNAME"],
                "password": os.environ["LOAD_PASSWORD"],
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Host": HOST},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in: status {response.status_code}")
                print(f"sign-in: status {response.status_code}", file=sys.stderr)
        css = STYLESHEET.search(self.get("/", "/"))
        self.stylesheet_url = css.group(1) if css else "/static/css/app.css"
        _signed_in_once(self)

    @task(3)
    def accounts_page(self) -> None:
        self.get(f"/accounts/?page={random.randint(1, ACCOUNT_PAGES)}", "/accounts/?page=")

    @task
    def accounts_search(self) -> None:
        self.get(f"/accounts/?q=Household+{random.randint(0, 799):03d}", "/accounts/?q=")

    @task
    def accounts_filter(self) -> None:
        self.get(
            f"/accounts/?registration=traditional_ira&page={random.randint(1, 40)}",
            "/accounts/?registration=&page=",
        )

    @task
    def accounts_needs(self) -> None:
        flag = random.choice(("drift", "harvest", "cash_due", "budget_nearly_used"))
        self.get(f"/accounts/?flag={flag}", "/accounts/?flag=")

    @task(3)
    def account(self) -> None:
        self.get(f"/accounts/{random.choice(ACCOUNT_IDS)}/", "/accounts/[id]/")

    @task(2)
    def design(self) -> None:
        self.get(f"/accounts/{random.choice(ACCOUNT_IDS)}/design/", "/accounts/[id]/design/")

    @task
    def home(self) -> None:
        self.get("/", "/")

    @task
    def runs(self) -> None:
        self.get("/runs/", "/runs/")

    @task
    def run_page(self) -> None:
        self.get(f"/runs/{RUN_ID}/", "/runs/[id]/")

    @task
    def proposal(self) -> None:
        self.get(f"/proposals/{random.choice(PROPOSAL_IDS)}/", "/proposals/[id]/")

    @task
    def approvals(self) -> None:
        self.get("/approvals/", "/approvals/")

    @task
    def orders(self) -> None:
        self.get("/orders/", "/orders/")

    @task
    def models(self) -> None:
        self.get("/models/", "/models/")

    @task
    def model(self) -> None:
        self.get(f"/models/{MODEL_ID}/", "/models/[id]/")

    @task
    def reports(self) -> None:
        self.get("/reports/", "/reports/")

    @task
    def stylesheet(self) -> None:
        self.get(self.stylesheet_url, "/static/css/app.[hash].css")


class ApiUser(_FirmUser):
    """An integration reading the API with a token."""

    weight = 1

    def on_start(self) -> None:
        """Exchange the password for a token once."""
        with self.client.post(
            "/api/v1/auth/token/",
            name="/api/v1/auth/token/",
            json={
                "username": os.environ["LOAD_USERNAME"],
                "password": os.environ["LOAD_PASSWORD"],
            },
            headers={"Host": HOST},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"token: status {response.status_code}")
                print(f"token: status {response.status_code}", file=sys.stderr)
                self.token = ""
            else:
                self.token = response.json()["token"]
        _signed_in_once(self)

    def api(self, path: str, name: str) -> None:
        self.get(f"/api/v1/{path}", f"/api/v1/{name}", Authorization=f"Token {self.token}")

    @task(3)
    def accounts(self) -> None:
        self.api(f"accounts/?limit=50&offset={50 * random.randint(0, 199)}", "accounts/")

    @task(3)
    def account(self) -> None:
        self.api(f"accounts/{random.choice(ACCOUNT_IDS)}/", "accounts/[id]/")

    @task
    def lots(self) -> None:
        self.api(f"accounts/{random.choice(ACCOUNT_IDS)}/lots/", "accounts/[id]/lots/")

    @task
    def households(self) -> None:
        self.api("households/", "households/")

    @task
    def runs(self) -> None:
        self.api("runs/", "runs/")

    @task
    def run_detail(self) -> None:
        self.api(f"runs/{RUN_ID}/", "runs/[id]/")

    @task
    def proposals(self) -> None:
        self.api(f"proposals/?run={RUN_ID}", "proposals/?run=")

    @task(2)
    def proposal(self) -> None:
        self.api(f"proposals/{random.choice(PROPOSAL_IDS)}/", "proposals/[id]/")

    @task
    def models(self) -> None:
        self.api("models/", "models/")

    @task
    def orders(self) -> None:
        self.api("orders/", "orders/")
