// A session of Microsoft's Node SDK (azure-devops-node-api) against an Azure DevOps organization: the
// emulator's tests run it unmodified and check what it printed. ADO_ORG_URL, ADO_PAT and ADO_PROJECT come
// from the environment; the token is never printed. One JSON line on stdout per step, then "done".
"use strict";

const azdev = require("azure-devops-node-api");
const { WorkItemErrorPolicy } = require("azure-devops-node-api/interfaces/WorkItemTrackingInterfaces");

function report(step, value) {
  process.stdout.write(JSON.stringify({ step, ...value }) + "\n");
}

function failure(error) {
  return { error: true, statusCode: error.statusCode ?? null, message: String(error.message || error) };
}

async function main() {
  const { ADO_ORG_URL: orgUrl, ADO_PAT: token, ADO_PROJECT: project } = process.env;
  const connection = new azdev.WebApi(orgUrl, azdev.getPersonalAccessTokenHandler(token));

  const data = await connection.connect();
  report("connect", { userId: data.authenticatedUser.id });

  const core = await connection.getCoreApi();
  const projects = await core.getProjects();
  report("projects", { names: projects.map((p) => p.name) });

  const wit = await connection.getWorkItemTrackingApi();
  const query = await wit.queryByWiql(
    { query: "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project ORDER BY [System.Id]" },
    { project },
  );
  const ids = query.workItems.map((ref) => ref.id);
  report("wiql", { ids });

  const batch = await wit.getWorkItemsBatch(
    { ids: [ids[0], 999999, ids[1]], fields: ["System.Id", "System.Title"], errorPolicy: WorkItemErrorPolicy.Omit },
    project,
  );
  report("batch", { items: batch.map((item) => (item ? item.id : null)) });

  const first = await wit.getWorkItem(ids[0], undefined, undefined, undefined, project);
  try {
    await wit.updateWorkItem(
      null,
      [
        { op: "test", path: "/rev", value: first.rev - 1 },
        { op: "add", path: "/fields/System.Title", value: "Stale edit" },
      ],
      ids[0],
      project,
    );
    report("stale_update", { error: false });
  } catch (error) {
    report("stale_update", failure(error));
  }

  const created = await wit.createWorkItem(
    null,
    [{ op: "add", path: "/fields/System.Title", value: "Made by the Node SDK" }],
    project,
    "Task",
  );
  report("create", { id: created.id, rev: created.rev, title: created.fields["System.Title"] });

  const deleted = await wit.deleteWorkItem(created.id, project);
  report("delete", { id: deleted.id, code: deleted.code });
  report("done", {});
}

main().catch((error) => {
  report("crash", failure(error));
  process.exitCode = 1;
});
