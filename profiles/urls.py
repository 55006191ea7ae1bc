from django.urls import path

from profiles import views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/alm-credentials/", views.alm_credentials, name="alm_credentials"),
]
