"""Work item tracking: reads, WIQL, create, update, delete (docs/azure-devops-behaviours.md §5)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

V71 = {"api-version": "7.1"}
IDENTITY_REF_KEYS = {"displayName", "url", "_links", "id", "uniqueName", "imageUrl", "descriptor"}


def wiql(http, url, query, **params):
    return http.post(f"{url}/_apis/wit/wiql", params={**V71, **params}, json={"query": query})


def new_task(ado, by, **kwargs):
    return ado.add_work_item("fabrikam", "Fabrikam Fiber", title=kwargs.pop("title", "A task"), by=by, **kwargs)


# --- reads -----------------------------------------------------------------------------------------------


def test_single_work_item_has_the_keys_of_the_official_example(alice_http, project_url, real_example):
    response = alice_http.get(f"{project_url}/_apis/wit/workitems/6", params=V71)
    example = real_example("examples/wit/7.1/workItems/GET__wit_WorkItems_id.json")["responses"]["200"]["body"]
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(example) <= set(body) <= set(example) | {"multilineFieldsFormat", "relations"}
    assert set(body["_links"]) >= {"self", "workItemUpdates", "workItemRevisions", "html", "workItemType", "fields"}
    assert set(body["fields"]["System.CreatedBy"]) == IDENTITY_REF_KEYS
    assert set(body["fields"]["System.AssignedTo"]) == set(example["fields"]["System.AssignedTo"])
    assert "System.Id" not in body["fields"]
    assert "System.Rev" not in body["fields"]


def test_list_items_have_the_keys_of_the_recording(alice_http, org_url, real_example):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": "1,2"})
    example = real_example("examples/wit/7.1/workItems/GET__wit_WorkItems_ids-_ids_.json")
    expected_keys = set(example["responses"]["200"]["body"]["value"][0])
    body = response.json()
    assert body["count"] == 2
    assert [set(item) for item in body["value"]] == [expected_keys, expected_keys]
    assert [item["id"] for item in body["value"]] == [1, 2]


def test_fields_without_a_value_are_omitted(ado, alice_http, org_url, svc_identity):
    item_id = new_task(ado, svc_identity, title="Nobody's task")
    fields = "System.Id,System.Title,System.AssignedTo,System.Tags"
    response = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": str(item_id), "fields": fields})
    assert response.json()["value"][0]["fields"] == {"System.Id": item_id, "System.Title": "Nobody's task"}


def test_expand_all_adds_system_id_rev_and_revised_date(alice_http, org_url):
    body = alice_http.get(f"{org_url}/_apis/wit/workitems/6", params={**V71, "$expand": "All"}).json()
    assert body["fields"]["System.Id"] == 6
    assert body["fields"]["System.Rev"] == body["rev"]
    assert body["fields"]["System.RevisedDate"] == "9999-01-01T00:00:00Z"
    assert "relations" in body


def test_fields_and_expand_together_are_refused(alice_http, org_url):
    response = alice_http.get(
        f"{org_url}/_apis/wit/workitems/6", params={**V71, "$expand": "All", "fields": "System.Title"}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_unknown_field_is_tf51535(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": "1", "fields": "Custom.Nope"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["message"].startswith("TF51535:")


def test_201_ids_are_refused_and_200_are_fine(alice_http, org_url):
    url = f"{org_url}/_apis/wit/workitems"
    too_many = alice_http.get(url, params={**V71, "ids": ",".join(str(i) for i in range(1, 202))})
    most = alice_http.get(url, params={**V71, "ids": ",".join(str(i) for i in range(1, 201)), "errorPolicy": "Omit"})
    assert too_many.status_code == HTTPStatus.BAD_REQUEST
    assert too_many.json()["message"] == "VS403474: You requested 201 work items which exceeds the limit of 200."
    assert most.status_code == HTTPStatus.OK
    assert most.json()["count"] == 200


def test_batch_post_of_201_ids_is_refused(alice_http, org_url):
    response = alice_http.post(f"{org_url}/_apis/wit/workitemsbatch", params=V71, json={"ids": list(range(1, 202))})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_missing_item_fails_the_list_with_tf401232(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": "1,999"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["message"] == (
        "TF401232: Work item 999 does not exist, or you do not have permissions to read it."
    )


def test_missing_item_is_null_with_error_policy_omit(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": "1,999", "errorPolicy": "Omit"})
    body = response.json()
    assert body["count"] == 2
    assert body["value"][0]["id"] == 1
    assert body["value"][1] is None


def test_workitemsbatch_takes_ids_and_fields_in_the_body(alice_http, project_url, real_example):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitemsbatch",
        params=V71,
        json={"ids": [2, 1], "fields": ["System.Id", "System.Title", "System.WorkItemType"]},
    )
    example = real_example("examples/wit/7.1/workItemsBatch/POST__wit_WorkItemsBatch_ids-_ids__fields-_columns_.json")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == set(example["responses"]["200"]["body"])
    assert [item["id"] for item in body["value"]] == [2, 1]
    assert list(body["value"][0]["fields"]) == ["System.Id", "System.WorkItemType", "System.Title"]


def test_missing_item_by_id_is_404(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems/999", params=V71)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["message"].startswith("TF401232: Work item 999 does not exist")


def test_unknown_project_in_a_wit_route_is_tf200016(alice_http, org_url):
    response = alice_http.get(f"{org_url}/Nope/_apis/wit/workitems/1", params=V71)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["message"].startswith("TF200016:")


def test_as_of_returns_the_revision_in_force_then(ado, alice_http, org_url, svc_identity, patch_body):
    item_id = new_task(ado, svc_identity, title="Before")
    created = ado.work_item("fabrikam", item_id)["fields"]["System.CreatedDate"]
    alice_http.patch(
        f"{org_url}/_apis/wit/workitems/{item_id}",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "After"}),
    )
    then = alice_http.get(f"{org_url}/_apis/wit/workitems/{item_id}", params={**V71, "asOf": created}).json()
    assert then["fields"]["System.Title"] == "Before"
    assert then["rev"] == 1


# --- WIQL ------------------------------------------------------------------------------------------------


def test_wiql_result_has_the_keys_of_the_recording(ado, alice_http, org_url):
    response = wiql(
        alice_http,
        org_url,
        "select [System.Id], [System.WorkItemType], [System.Title], [System.AssignedTo], [System.State], "
        "[System.Tags] from WorkItems where [System.TeamProject] = 'Fabrikam Fiber' and [System.WorkItemType] = 'Task'",
    )
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert list(body) == ["queryType", "queryResultType", "asOf", "columns", "workItems"]
    assert body["queryType"] == "flat"
    assert body["queryResultType"] == "workItem"
    assert [c["name"] for c in body["columns"]] == ["ID", "Work Item Type", "Title", "Assigned To", "State", "Tags"]
    assert set(body["columns"][0]) == {"referenceName", "name", "url"}
    tasks = [i for i in range(1, 32) if ado.work_item("fabrikam", i)["fields"]["System.WorkItemType"] == "Task"]
    assert [w["id"] for w in body["workItems"]] == tasks
    assert set(body["workItems"][0]) == {"id", "url"}
    assert body["workItems"][0]["url"] == f"{org_url}/_apis/wit/workItems/{body['workItems'][0]['id']}"


def test_wiql_filters_by_state_lists_and_sorts(alice_http, project_url, ado):
    response = wiql(
        alice_http,
        project_url,
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
        "AND [System.WorkItemType] = 'Bug' AND [System.State] IN ('New', 'Approved') "
        "ORDER BY [System.ChangedDate] DESC, [System.Id] ASC",
    )
    body = response.json()
    ids = [w["id"] for w in body["workItems"]]
    dates = [ado.work_item("fabrikam", i)["fields"]["System.ChangedDate"] for i in ids]
    expected = {
        i
        for i in range(1, 32)
        if ado.work_item("fabrikam", i)["fields"]["System.WorkItemType"] == "Bug"
        and ado.work_item("fabrikam", i)["fields"]["System.State"] in {"New", "Approved"}
    }
    assert set(ids) == expected
    assert dates == sorted(dates, reverse=True)
    assert body["sortColumns"] == [
        {"field": body["sortColumns"][0]["field"], "descending": True},
        {"field": body["sortColumns"][1]["field"], "descending": False},
    ]
    assert body["sortColumns"][0]["field"]["referenceName"] == "System.ChangedDate"


def test_wiql_not_equal_friendly_names_and_top(alice_http, org_url):
    everything = wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems").json()["workItems"]
    not_done = wiql(alice_http, org_url, "Select [System.Id] From WorkItems Where [State] <> 'Done'").json()
    top = wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems ORDER BY [System.Id]", **{"$top": "3"}).json()
    assert len(everything) == 31
    assert 0 < len(not_done["workItems"]) < 31
    assert [w["id"] for w in top["workItems"]] == [1, 2, 3]


def test_wiql_me_and_assigned_to_match_the_caller(alice_http, org_url, ado):
    mine = wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems WHERE [System.AssignedTo] = @me").json()
    by_email = wiql(
        alice_http, org_url, "SELECT [System.Id] FROM WorkItems WHERE [Assigned To] = 'alice@fabrikam.example'"
    ).json()
    ids = [w["id"] for w in mine["workItems"]]
    assert ids
    assert ids == [w["id"] for w in by_email["workItems"]]
    for item_id in ids:
        assert (
            ado.work_item("fabrikam", item_id)["fields"]["System.AssignedTo"]["uniqueName"] == "alice@fabrikam.example"
        )


def test_wiql_over_twenty_thousand_results_needs_a_smaller_top(ado, alice_http, org_url, svc_identity):
    ado.add_project("fabrikam", "Huge")
    ado.add_many_work_items("fabrikam", "Huge", 20_001, title="Item {n}", by=svc_identity)
    query = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'Huge'"
    refused = wiql(alice_http, org_url, query)
    too_large_top = wiql(alice_http, org_url, query, **{"$top": "20001"})
    capped = wiql(alice_http, org_url, query, **{"$top": "20000"})
    assert refused.status_code == too_large_top.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json()["message"] == (
        "VS402337: The number of work items returned exceeds the size limit of 20000. "
        "Change the query to return fewer items."
    )
    assert capped.status_code == HTTPStatus.OK
    assert len(capped.json()["workItems"]) == 20_000


def test_wiql_top_zero_is_refused(alice_http, org_url):
    response = wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems", **{"$top": "0"})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_wiql_on_the_team_route(alice_http, project_url):
    team = wiql(alice_http, f"{project_url}/Fabrikam%20Fiber%20Team", "SELECT [System.Id] FROM WorkItems")
    nope = wiql(alice_http, f"{project_url}/No%20Such%20Team", "SELECT [System.Id] FROM WorkItems")
    assert team.status_code == HTTPStatus.OK
    assert nope.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("query", "start"),
    [
        ("SELECT TOP 5 [System.Id] FROM WorkItems", "TF51006: The query statement is missing a FROM clause."),
        ("SELECT [System.Id] FROM WorkItems WHERE [System.State] = ", "TF51006:"),
        ("SELECT [System.Id] FROM WorkItems WHERE [System.State] 'x'", "TF51006:"),
        ("SELECT [System.Id] FROM WorkItems WHERE [Custom.Nope] = 'x'", "TF51005:"),
    ],
    ids=["top", "no-value", "no-operator", "unknown-field"],
)
def test_wiql_errors_are_400_wrapped_exceptions(alice_http, org_url, query, start):
    response = wiql(alice_http, org_url, query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["message"].startswith(start)
    assert response.json()["$id"] == "1"


def test_wiql_project_macro_needs_a_project_in_the_url(alice_http, org_url):
    response = wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_wiql_leaves_out_deleted_items(ado, alice_http, org_url):
    alice_http.delete(f"{org_url}/_apis/wit/workitems/1", params=V71)
    ids = [w["id"] for w in wiql(alice_http, org_url, "SELECT [System.Id] FROM WorkItems").json()["workItems"]]
    assert 1 not in ids


# --- create ----------------------------------------------------------------------------------------------


def test_create_answers_200_with_the_caller_as_creator(alice_http, project_url, alice_identity, patch_body):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/$Task",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "Task_0"}),
    )
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    fields = body["fields"]
    assert body["rev"] == 1
    assert fields["System.State"] == "To Do"
    assert fields["System.WorkItemType"] == "Task"
    assert fields["System.TeamProject"] == "Fabrikam Fiber"
    assert fields["Microsoft.VSTS.Common.Priority"] == 2
    assert fields["System.CreatedBy"]["id"] == alice_identity.id
    assert fields["System.ChangedBy"]["id"] == alice_identity.id
    assert set(fields["System.ChangedBy"]) == IDENTITY_REF_KEYS
    assert fields["System.CreatedDate"] == fields["System.ChangedDate"]
    project_id = alice_http.get(f"{project_url.rsplit('/', 1)[0]}/_apis/projects/Fabrikam%20Fiber", params=V71).json()[
        "id"
    ]
    assert body["url"].endswith(f"/{project_id}/_apis/wit/workItems/{body['id']}")


def test_create_with_an_encoded_dollar_and_type_with_spaces(alice_http, project_url, patch_body):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/%24Product%20Backlog%20Item",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "PBI"}),
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["fields"]["System.State"] == "New"
    assert response.json()["fields"]["System.Reason"] == "New backlog item"


def test_validate_only_create_saves_nothing_and_uses_no_id(ado, alice_http, project_url, svc_identity, patch_body):
    before = new_task(ado, svc_identity)
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/$Task",
        params={**V71, "validateOnly": "true"},
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "probe"}),
    )
    after = new_task(ado, svc_identity)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["fields"]["System.Title"] == "probe"
    assert "id" not in response.json()
    assert after == before + 1


def test_create_needs_a_title(alice_http, project_url, patch_body):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/$Task",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Description", "value": "no title"}),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["message"].startswith("TF401320: Rule Error for field Title.")


def test_create_of_an_unknown_type_is_404(alice_http, project_url, patch_body):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/$Spaceship",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "x"}),
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["typeKey"] == "WorkItemTypeNotFoundException"
    assert response.json()["message"].startswith("VS402323: Work item type Spaceship does not exist")


def test_create_with_plain_json_content_type_is_400(alice_http, project_url):
    response = alice_http.post(
        f"{project_url}/_apis/wit/workitems/$Task",
        params=V71,
        json=[{"op": "add", "path": "/fields/System.Title", "value": "x"}],
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["typeName"] == (
        "Microsoft.VisualStudio.Services.WebApi.VssRequestContentTypeNotSupportedException, "
        "Microsoft.VisualStudio.Services.WebApi"
    )


# --- update ----------------------------------------------------------------------------------------------


def test_patch_makes_a_new_revision_changed_by_the_caller(ado, http_for, bob_pat, org_url, bob_identity, patch_body):
    response = http_for(bob_pat).patch(
        f"{org_url}/_apis/wit/workitems/1",
        params=V71,
        **patch_body(
            {"op": "test", "path": "/rev", "value": 2},
            {"op": "replace", "path": "/fields/System.State", "value": "Done"},
            {"op": "add", "path": "/fields/System.History", "value": "Closing it"},
        ),
    )
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["rev"] == 3
    assert body["fields"]["System.State"] == "Done"
    assert body["fields"]["System.Reason"] == "Work finished"
    assert body["fields"]["System.ChangedBy"]["id"] == bob_identity.id
    revisions = ado.work_item_revisions("fabrikam", 1)
    assert [r["rev"] for r in revisions] == [1, 2, 3]
    assert revisions[-1]["changed_by"]["id"] == bob_identity.id
    assert revisions[-1]["changed_by"]["display_name"] == "Bob Example"
    assert revisions[-1]["fields"]["System.History"] == "Closing it"
    assert revisions[0]["changed_date"] < revisions[-1]["changed_date"]


def test_stale_rev_is_412_and_nothing_is_applied(ado, alice_http, org_url, patch_body):
    before = ado.work_item("fabrikam", 1)
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1",
        params=V71,
        **patch_body(
            {"op": "add", "path": "/fields/System.Title", "value": "Should not stick"},
            {"op": "test", "path": "/rev", "value": 1},
        ),
    )
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response.json()["message"] == (
        "VS403351: Test Operation for path /rev failed, value 2 was not equal to test value 1."
    )
    assert ado.work_item("fabrikam", 1) == before


def test_validate_only_patch_changes_nothing(ado, alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1",
        params={**V71, "validateOnly": "true"},
        **patch_body(
            {"op": "test", "path": "/rev", "value": 2},
            {"op": "add", "path": "/fields/System.Title", "value": "ValidationOnly won't patch this"},
        ),
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["rev"] == 2
    assert ado.work_item("fabrikam", 1)["fields"]["System.Title"] == "Self-service customer portal"
    assert len(ado.work_item_revisions("fabrikam", 1)) == 2


def test_validate_only_still_reports_a_stale_rev(alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1",
        params={**V71, "validateOnly": "true"},
        **patch_body({"op": "test", "path": "/rev", "value": 7}),
    )
    assert response.status_code == HTTPStatus.PRECONDITION_FAILED


def test_patch_with_only_a_test_makes_no_revision(ado, alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1", params=V71, **patch_body({"op": "test", "path": "/rev", "value": 2})
    )
    assert response.json()["rev"] == 2
    assert len(ado.work_item_revisions("fabrikam", 1)) == 2


def test_a_state_outside_the_type_is_a_rule_error(ado, alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/19",  # a Task
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.State", "value": "Committed"}),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["message"] == (
        "TF401320: Rule Error for field State. "
        "Error code: Required, HasValues, LimitedToValues, SetByRule, InvalidEmpty."
    )


def test_assigning_by_email_gives_an_identity_ref(ado, alice_http, org_url, bob_identity, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/12",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.AssignedTo", "value": "Bob Example <bob@fabrikam.example>"}),
    )
    assert response.json()["fields"]["System.AssignedTo"]["id"] == bob_identity.id


def test_assigning_an_unknown_person_is_400(alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/12",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.AssignedTo", "value": "mallory@evil.example"}),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_read_only_fields_cannot_be_patched(alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.CreatedBy", "value": "bob@fabrikam.example"}),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_removing_a_field_drops_it(ado, alice_http, org_url, patch_body):
    response = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1", params=V71, **patch_body({"op": "remove", "path": "/fields/System.Tags"})
    )
    assert "System.Tags" not in response.json()["fields"]


def test_revisions_endpoint_lists_every_revision(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/wit/workitems/1/revisions", params=V71)
    body = response.json()
    assert body["count"] == 2
    assert [r["rev"] for r in body["value"]] == [1, 2]
    assert body["value"][0]["fields"]["System.State"] == "New"
    assert body["value"][1]["fields"]["System.State"] == "In Progress"


def test_demo_item_in_a_later_state_was_moved_by_its_assignee(ado, alice_identity, svc_identity):
    revisions = ado.work_item_revisions("fabrikam", 1)
    assert revisions[0]["changed_by"]["id"] == svc_identity.id
    assert revisions[1]["changed_by"]["id"] == alice_identity.id


# --- delete ----------------------------------------------------------------------------------------------


def test_delete_moves_the_item_to_the_recycle_bin(alice_http, project_url, org_url):
    response = alice_http.delete(f"{project_url}/_apis/wit/workitems/3", params=V71)
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"id", "code", "type", "name", "project", "deletedDate", "deletedBy", "url", "resource"}
    assert body["code"] == 200
    assert body["deletedBy"] == "Alice Example <alice@fabrikam.example>"
    assert body["resource"]["id"] == 3
    assert alice_http.get(f"{org_url}/_apis/wit/workitems/3", params=V71).status_code == HTTPStatus.NOT_FOUND
    in_bin = alice_http.get(f"{project_url}/_apis/wit/recyclebin/3", params=V71)
    assert in_bin.status_code == HTTPStatus.OK
    assert in_bin.json()["name"] == "Online bill payment"
    again = alice_http.delete(f"{project_url}/_apis/wit/workitems/3", params=V71)
    assert again.status_code == HTTPStatus.NOT_FOUND


def test_destroy_removes_the_item_for_good(ado, alice_http, project_url):
    response = alice_http.delete(f"{project_url}/_apis/wit/workitems/3", params={**V71, "destroy": "true"})
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert alice_http.get(f"{project_url}/_apis/wit/recyclebin/3", params=V71).status_code == HTTPStatus.NOT_FOUND
    with pytest.raises(KeyError):
        ado.work_item_revisions("fabrikam", 3)


def test_restore_from_the_recycle_bin(alice_http, project_url):
    alice_http.delete(f"{project_url}/_apis/wit/workitems/3", params=V71)
    restored = alice_http.patch(f"{project_url}/_apis/wit/recyclebin/3", params=V71, json={"isDeleted": False})
    assert restored.status_code == HTTPStatus.OK
    assert alice_http.get(f"{project_url}/_apis/wit/workitems/3", params=V71).status_code == HTTPStatus.OK


def test_destroy_from_the_recycle_bin(alice_http, project_url):
    alice_http.delete(f"{project_url}/_apis/wit/workitems/3", params=V71)
    destroyed = alice_http.delete(f"{project_url}/_apis/wit/recyclebin/3", params=V71)
    assert destroyed.status_code == HTTPStatus.NO_CONTENT
    assert alice_http.get(f"{project_url}/_apis/wit/recyclebin/3", params=V71).status_code == HTTPStatus.NOT_FOUND


# --- Python API ------------------------------------------------------------------------------------------


def test_add_work_items_returns_new_ids(ado, svc_identity, bob_identity):
    ids = ado.add_work_items(
        "fabrikam",
        "Fabrikam Fiber",
        [
            {"type": "Bug", "title": "Crash", "state": "Approved", "assigned_to": bob_identity},
            {"type": "Task", "title": "Fix it"},
        ],
        by=svc_identity,
    )
    assert ids == [32, 33]
    bug = ado.work_item("fabrikam", 32)
    assert bug["fields"]["System.State"] == "Approved"
    assert bug["fields"]["System.AssignedTo"]["id"] == bob_identity.id
    assert ado.work_item("fabrikam", 33)["fields"]["System.State"] == "To Do"


def test_add_work_item_refuses_a_bad_state(ado, svc_identity):
    with pytest.raises(ValueError, match="TF401320"):
        new_task(ado, svc_identity, state="Committed")


# --- work item types and their states --------------------------------------------------------------------


def test_type_states_have_the_keys_of_the_official_example(alice_http, project_url, real_example):
    response = alice_http.get(f"{project_url}/_apis/wit/workitemtypes/Task/states", params=V71)
    example = real_example("examples/wit/7.1/workItemTypeStates/GET__workitem_type_states.json")
    expected = example["responses"]["200"]["body"]
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == set(expected)
    assert set(body["value"][0]) == set(expected["value"][0])
    assert [s["name"] for s in body["value"]] == ["To Do", "In Progress", "Done", "Removed"]


def test_agile_project_has_agile_types_and_states(ado, alice_http, org_url, alice_identity, patch_body):
    ado.add_project("fabrikam", "Agile Project", process="Agile")
    url = f"{org_url}/Agile%20Project"
    bug = alice_http.get(f"{url}/_apis/wit/workitemtypes/Bug/states", params=V71).json()
    story = alice_http.get(f"{url}/_apis/wit/workitemtypes/User%20Story/states", params=V71)
    scrum_only = alice_http.get(f"{url}/_apis/wit/workitemtypes/Product%20Backlog%20Item/states", params=V71)
    assert [(s["name"], s["category"]) for s in bug["value"]] == [
        ("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed")
    ]
    assert story.status_code == HTTPStatus.OK
    assert scrum_only.status_code == HTTPStatus.NOT_FOUND
    assert scrum_only.json()["message"].startswith("VS402323:")
    created = alice_http.post(
        f"{url}/_apis/wit/workitems/$Task",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "An Agile task"}),
    ).json()
    assert created["fields"]["System.State"] == "New"
    refused = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/{created['id']}",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.State", "value": "Done"}),
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST


def test_enums_are_accepted_as_numbers(alice_http, org_url):
    url = f"{org_url}/_apis/wit/workitems"
    omitted = alice_http.get(url, params={**V71, "ids": "1,999", "errorPolicy": "2"})
    expanded = alice_http.get(url, params={**V71, "ids": "1", "$expand": "4"})
    assert omitted.status_code == HTTPStatus.OK
    assert omitted.json()["value"][1] is None
    assert "System.Rev" in expanded.json()["value"][0]["fields"]


def test_failed_rev_test_and_argument_errors_carry_the_real_type_names(alice_http, org_url, patch_body):
    stale = alice_http.patch(
        f"{org_url}/_apis/wit/workitems/1", params=V71, **patch_body({"op": "test", "path": "/rev", "value": 99})
    )
    bad_ids = alice_http.get(f"{org_url}/_apis/wit/workitems", params={**V71, "ids": "x"})
    assert stale.json()["typeName"] == (
        "Microsoft.VisualStudio.Services.WebApi.Patch.TestPatchOperationFailedException, "
        "Microsoft.VisualStudio.Services.WebApi"
    )
    assert bad_ids.json()["typeName"] == "System.ArgumentException, mscorlib"
