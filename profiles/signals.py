"""Signal receivers: the overview's counts per state are counted again when what they depend on changes."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from alm.models import AlmConnection
from profiles.models import AlmCredential
from profiles.overview import counts_changed

for model in (AlmCredential, AlmConnection, get_user_model()):
    post_save.connect(counts_changed, sender=model, dispatch_uid=f"overview-counts-save-{model.__name__}")
    post_delete.connect(counts_changed, sender=model, dispatch_uid=f"overview-counts-delete-{model.__name__}")
