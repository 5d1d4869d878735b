from django.db import models
from django.utils.translation import gettext_lazy as _


class ClusterStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    MAINTENANCE = "maintenance", _("Maintenance")
    UNAVAILABLE = "unavailable", _("Unavailable")


class HostRole(models.TextChoices):
    LEADER = "leader", _("Leader")
    FOLLOWER = "follower", _("Follower")
    READ_ONLY = "read_only", _("Read-only replica")


CLUSTER_STATUS_COLORS = {
    ClusterStatus.RUNNING: "success",
    ClusterStatus.MAINTENANCE: "warning",
    ClusterStatus.UNAVAILABLE: "danger",
}
