"""URLs of Sign in with Microsoft on ALM Credentials (included from profiles/urls.py)."""

from django.urls import path

from profiles import entra_views

urlpatterns = [
    path("profile/alm-credentials/<int:connection_id>/entra/sign-in/", entra_views.sign_in, name="entra_sign_in"),
    path("profile/alm-credentials/entra/callback/", entra_views.callback, name="entra_callback"),
    path(
        "profile/alm-credentials/<int:connection_id>/entra/create-token/",
        entra_views.create_token,
        name="entra_create_token",
    ),
]
