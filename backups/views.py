from django.shortcuts import redirect


def overview(request):
    return redirect("backups:data_list") if False else _placeholder(request)


def _placeholder(request):
    from django.http import HttpResponse

    return HttpResponse("Backup overview")
