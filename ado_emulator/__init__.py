"""An Azure DevOps emulator: a real threaded HTTP server on loopback that answers like ADO.

No Django in here (only the `ado_emulator` management command imports Django), so it runs in a bare
process and in tests without settings. The behaviours it models and their public sources are listed in
docs/azure-devops-behaviours.md; each quirk is commented where it is implemented (citing that page's
section), and answers no source settles are switches in `Behaviour`.

    from ado_emulator import Emulator

    with Emulator() as emu:                      # demo data: org "fabrikam", project "Fabrikam Fiber"
        url = emu.org_url()                      # http://127.0.0.1:PORT/fabrikam
        alice = emu.add_identity(display_name="Ann", email="ann@fabrikam.example")
        token = emu.issue_pat(alice, scopes="vso.work_write")
        emu.add_project("fabrikam", "Agile One", process="Agile")
        emu.add_many_work_items("fabrikam", "Agile One", 25_000, type="Task", by=alice)
        emu.set_fault("latency", seconds=0.3, count=1)
        ...
        emu.requests                             # RequestRecord(method, path, query, status, ...)

Service URLs (discovered by clients through GET {org}/_apis/ResourceAreas, as on the real service):
core, wit, Location at {base}/{org}/; vssps (Tokens, TokenAdmin, Graph) at {base}/_vssps/{org}/;
vsaex (MemberEntitlementManagement) at {base}/_vsaex/{org}/. Server kind: all on the collection URL.
"""

from __future__ import annotations

from ado_emulator.model import ANONYMOUS_ID, Behaviour, Identity, Org, PatRecord, Project, RequestRecord
from ado_emulator.server import Emulator

__all__ = ["ANONYMOUS_ID", "Behaviour", "Emulator", "Identity", "Org", "PatRecord", "Project", "RequestRecord"]
