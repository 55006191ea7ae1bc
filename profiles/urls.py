from django.urls import include, path

from profiles import views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/alm-credentials/", views.alm_credentials, name="alm_credentials"),
    path("profile/alm-credentials/<int:connection_id>/remove/", views.remove_credential, name="remove_credential"),
    path("banner/dismiss/", views.dismiss_banner, name="dismiss_banner"),
    path("", include("profiles.entra_urls")),  # Sign in with Microsoft
]
