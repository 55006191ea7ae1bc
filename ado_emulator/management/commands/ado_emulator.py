"""`python manage.py ado_emulator`: serve the Azure DevOps emulator until Ctrl-C (used by `make run`)."""

from __future__ import annotations

import shutil
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ado_emulator import Emulator


class Command(BaseCommand):
    help = "Serve the Azure DevOps emulator (demo data by default) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default: loopback only).")
        parser.add_argument("--no-demo", action="store_true", help="Start empty, without the demo organization.")
        parser.add_argument("--quiet", action="store_true", help="Print nothing but errors.")
        parser.add_argument("--entra-port", type=int, default=0, help="Port of the Entra ID authority (HTTPS).")
        parser.add_argument(
            "--entra-ca-bundle", default="", help="Write the Entra ID authority's CA certificate to this file."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        emulator = Emulator(demo=not options["no_demo"]).start(
            host=options["host"], port=options["port"], entra_port=options["entra_port"]
        )
        if options["entra_ca_bundle"]:
            # The app trusts this file (ALM_ENTRA_CA_BUNDLE); the CA is new at every start.
            shutil.copyfile(emulator.entra.ca_bundle, options["entra_ca_bundle"])
        if not options["no_demo"]:
            emulator.entra.add_service_principal()  # the demo app may act as the ALM connection
        try:
            if not options["quiet"]:
                self._describe(emulator)
            threading.Event().wait()  # until Ctrl-C
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()

    def _describe(self, emulator: Emulator) -> None:
        info = emulator.demo_info()
        self.stdout.write(f"Azure DevOps emulator at {emulator.base_url}  (control API: /_emulator/)")
        if not info["org"]:
            self.stdout.write("No demo data (--no-demo). Add organizations through POST /_emulator/orgs.")
            return
        self.stdout.write(f"Organization URL: {info['org_url']}   project: {info['project']}")
        # Demo tokens are fixed, fake strings from ado_emulator/demo.json: printing them is the point here.
        for person in info["identities"]:
            self.stdout.write(
                f"  {person['name']} <{person['email']}>  PAT {person['pat']}  valid to {person['valid_to']}"
            )
        self.stdout.write(f"Entra ID authority: {emulator.entra.authority}  (CA: {emulator.entra.ca_bundle})")
        self.stdout.write("Press Ctrl-C to stop.")
        self.stdout.flush()  # a pipe (make run, tests) would otherwise hold the lines back
