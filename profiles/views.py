"""The person's pages: home, profile and ALM credentials."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "profiles/home.html")


def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "profiles/profile.html")


def alm_credentials(request: HttpRequest) -> HttpResponse:
    return render(request, "profiles/alm_credentials.html")
