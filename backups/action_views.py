"""Operator actions (OV-1, OV-2, OV-4a).  Placeholders until the engine lands."""

from django.http import HttpResponseNotAllowed, HttpResponse
from django.views.decorators.http import require_POST


@require_POST
def log_stop(request, pk):
    return HttpResponse(status=501)


@require_POST
def log_start(request, pk):
    return HttpResponse(status=501)


@require_POST
def secondary_log_stop(request, pk):
    return HttpResponse(status=501)


@require_POST
def secondary_log_start(request, pk):
    return HttpResponse(status=501)


def policy_list(request):
    return HttpResponse(status=501)


def policy_create(request):
    return HttpResponse(status=501)


def instant_backup(request):
    return HttpResponse(status=501)
