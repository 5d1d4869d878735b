"""Load test: signed-in operators browsing the overview and pressing its buttons.

Run by bench/load.sh (gunicorn on the bc_load database, a Celery worker on
Redis, locust headless, loopback only).  Each simulated user signs in once
as the demo operator, then mostly reads (the five lists with their time
ranges and filters, the clusters, the audit trail, task pages) and now and
then presses Stop/Start on a log backup or asks for an instant backup.
"""

import random
import re

from locust import HttpUser, between, task

USERNAME = "operator"
PASSWORD = "operator"
LISTS = ["/backups/data/", "/backups/logs/", "/backups/cleanups/", "/backups/secondary/data/", "/backups/secondary/logs/"]
RANGES = ["24h", "7d", "30d"]
BUTTON = re.compile(r'action="(/backups/logs/(\d+)/(?:stop|start)/)"')
CLUSTER = re.compile(r'href="/clusters/(\d+)/"')


class Operator(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.client.get("/accounts/login/", name="/accounts/login/")
        self.client.post(
            "/accounts/login/",
            {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")},
            name="/accounts/login/ [POST]",
        )
        self.clusters = []

    def csrf(self):
        return self.client.cookies.get("csrftoken", "")

    @task(10)
    def browse_a_list(self):
        url = random.choice(LISTS)
        params = {"range": random.choice(RANGES)}
        if self.clusters and random.random() < 0.4:
            params["cluster"] = random.choice(self.clusters)
        if random.random() < 0.2:
            params["status"] = "failed" if url != "/backups/logs/" else "in_progress"
        with self.client.get(url, params=params, name=url, catch_response=True) as response:
            if response.status_code == 200:
                found = set(CLUSTER.findall(response.text))
                if found:
                    self.clusters = sorted(found)[:50]
                response.success()

    @task(2)
    def clusters_and_audit(self):
        self.client.get("/clusters/", name="/clusters/")
        self.client.get("/backups/audit/", params={"range": "24h"}, name="/backups/audit/")

    @task(2)
    def stop_or_start_a_log_backup(self):
        page = self.client.get("/backups/logs/", params={"range": "24h"}, name="/backups/logs/")
        buttons = BUTTON.findall(page.text)
        if not buttons:
            return
        action, pk = random.choice(buttons)
        self.client.get(f"/backups/logs/{pk}/", name="/backups/logs/<pk>/")
        self.client.post(action, {"csrfmiddlewaretoken": self.csrf(), "next": "/backups/logs/?range=24h"},
                         name="/backups/logs/<pk>/stop|start/ [POST]")

    @task(1)
    def instant_backup(self):
        if not self.clusters:
            return
        self.client.post(
            "/backups/instant/",
            {"cluster": random.choice(self.clusters), "mode": "full", "csrfmiddlewaretoken": self.csrf()},
            name="/backups/instant/ [POST]",
        )
