from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .models import Cluster


def cluster_detail(request, pk):
    cluster = get_object_or_404(Cluster, pk=pk)
    return HttpResponse(cluster.name)
