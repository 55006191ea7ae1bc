"""The app's URLs plus the floor: base.html with an empty banner block, so the banner is never computed."""

from __future__ import annotations

from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("_bench/floor/", TemplateView.as_view(template_name="bench/floor.html"), name="bench_floor"),
    path("", include("config.urls")),
]
