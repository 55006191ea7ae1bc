from django.urls import path, register_converter
from django.urls.converters import IntConverter

from workitems import views


class WorkItemIdConverter(IntConverter):
    """Azure DevOps work item ids are positive 32-bit numbers; any other number names no item.

    Refused here (404) because such a number would overflow the audit record's column: a 500 otherwise.
    """

    regex = "[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= 2**31 - 1:
            raise ValueError(value)
        return number


register_converter(WorkItemIdConverter, "work_item_id")

urlpatterns = [
    path("work-items/", views.work_item_list, name="work_items"),
    path("work-items/<work_item_id:work_item_id>/", views.work_item_edit, name="work_item_edit"),
    path("work-items/<work_item_id:work_item_id>/delete/", views.work_item_delete, name="work_item_delete"),
]
