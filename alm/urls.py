from django.urls import path

from alm import views

urlpatterns = [
    path("work-items/", views.work_item_list, name="work_items"),
    path("work-items/<int:work_item_id>/", views.work_item_edit, name="work_item_edit"),
    path("work-items/<int:work_item_id>/delete/", views.work_item_delete, name="work_item_delete"),
]
