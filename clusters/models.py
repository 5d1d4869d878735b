from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .choices import CLUSTER_STATUS_COLORS, ClusterStatus, HostRole


class Cluster(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    db_version = models.CharField(_("database version"), max_length=32)
    region = models.CharField(_("region"), max_length=64)
    zone = models.CharField(_("zone"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ClusterStatus.choices, default=ClusterStatus.RUNNING)
    # The compaction (merge) version the cluster has reached; data backups
    # record the version they were taken at.
    data_version = models.PositiveBigIntegerField(_("data version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("clusters:detail", args=[self.pk])

    @property
    def accepts_backups(self):
        """Whether backups can run here: an unavailable cluster has no server
        to take them (the engine refuses them, the pages offer no button)."""
        return self.status != ClusterStatus.UNAVAILABLE

    @property
    def status_color(self):
        return CLUSTER_STATUS_COLORS.get(self.status, "secondary")


class Tenant(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="tenants", verbose_name=_("cluster"))
    name = models.CharField(_("name"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["cluster__name", "name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="tenant_name_unique_in_cluster"),
        ]

    def __str__(self):
        return self.name


class Host(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="hosts", verbose_name=_("cluster"))
    ip = models.GenericIPAddressField(_("service IP"))
    port = models.PositiveIntegerField(_("port"), default=2881)
    role = models.CharField(_("role"), max_length=16, choices=HostRole.choices, default=HostRole.FOLLOWER)
    zone = models.CharField(_("zone"), max_length=64, blank=True)

    class Meta:
        ordering = ["cluster__name", "ip", "port"]
        verbose_name = _("host")
        verbose_name_plural = _("hosts")
        constraints = [
            models.UniqueConstraint(fields=["ip", "port"], name="host_ip_port_unique"),
            models.CheckConstraint(condition=models.Q(port__gte=1, port__lte=65535), name="host_port_in_range"),
        ]

    def __str__(self):
        return f"{self.ip}:{self.port}"
