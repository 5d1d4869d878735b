"""Users in each role, and a small estate with one task of every kind, for the
role, audit and hostile-input tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests import factories as f

PASSWORD = "pw-Role-7319-long"


def user_in(role, username=None):
    user = get_user_model().objects.create_user(username or role, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def policy_data(cluster, destination, **overrides):
    logical = overrides.get("backup_method") == "logical"
    data = {
        "cluster": cluster.pk,
        "tenant": "",
        "backup_method": "physical",
        "destination": destination.pk,
        "directory": f"/{cluster.name}",
        "schedule_kind": "weekly",
        "week_1": "on",
        "week_1_mode": "full",
        "week_4": "on",
        "week_4_mode": "full" if logical else "incremental",  # logical backups are full only
        "run_at": "02:30",
        "log_backup_enabled": "on",
        "retention_days": "7",
        "secondary_destination": "",
        "data_backup_timeout_minutes": "360",
        "log_delay_threshold_seconds": "300",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def build_estate():
    """One cluster with a policy and a task of every kind; a second, bare cluster."""
    cluster = f.make_cluster(name="prod-a")
    f.make_host(cluster, role="leader")
    policy = f.make_policy(cluster)
    data = f.make_data_task(cluster, policy=policy)
    log = f.make_log_task(cluster, policy=policy)
    stopped = f.make_log_task(f.make_cluster(name="prod-b"), status="stopped")
    f.make_host(stopped.cluster, role="leader")
    return {
        "cluster": cluster,
        "bare": f.make_cluster(name="empty-c"),
        "policy": policy,
        "paused": f.make_policy(stopped.cluster, state="paused"),
        "data": data,
        "log": log,
        "stopped": stopped,
        "cleanup": f.make_cleanup_task(cluster),
        "secondary_data": f.make_secondary_data_task(data),
        "secondary_log": f.make_secondary_log_task(log),
        "destination": policy.destination,
    }
