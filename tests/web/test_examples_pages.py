import re

XSS_INPUT = "<script>alert(1)</script>"
XSS_OUTPUT = "<img src=x onerror=alert(2)>"


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="num"><a href="/examples/(\d+)">', html)]


def test_browser_searches_filters_and_sorts(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(rows=[
        {"id": "a", "prompt": "the cat sat", "completion": "animal", "label": "pets"},
        {"id": "b", "prompt": "stock prices", "completion": "finance talk", "label": "money"},
        {"id": "c", "prompt": "dog walk", "completion": "a CAT chased it", "label": "pets"},
    ])
    url = f"/datasets/{ds['id']}/examples"
    page = page_client.get(url)
    assert page.status_code == 200 and _ids(page.text) == ids and "3 examples" in page.text
    search = page_client.get(url, params={"q": "cat"}, headers={"HX-Request": "true"})
    assert _ids(search.text) == [ids[0], ids[2]] and "<html" not in search.text  # the results fragment
    assert _ids(page_client.get(url, params={"label": "money"}).text) == [ids[1]]
    assert _ids(page_client.get(url, params={"sort": "newest"}).text) == list(reversed(ids))
    assert _ids(page_client.get(url, params={"sort": "label"}).text) == [ids[1], ids[0], ids[2]]
    add_findings(ds["id"], [{"example_id": ids[1], "check": "outlier", "score": 0.9, "details": {"message": "odd"}},
                            {"example_id": ids[2], "check": "outlier", "score": 0.8, "details": {"message": "odd"},
                             "status": "dismissed"}])
    assert _ids(page_client.get(url, params={"check": "outlier"}).text) == [ids[1]]
    assert _ids(page_client.get(url, params={"check": "outlier", "finding_status": "dismissed"}).text) == [ids[2]]
    page_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 1, "status": "accepted"})
    assert _ids(page_client.get(url, params={"status": "accepted"}).text) == [ids[0]]
    assert page_client.get(url, params={"sort": "nonsense"}).status_code == 422


def test_keyset_pages_walk_forward_and_back(page_client, seed_pairs):
    ds, ids = seed_pairs(7)
    url = f"/datasets/{ds['id']}/examples"
    for sort, order in (("oldest", ids), ("newest", list(reversed(ids))), ("updated", list(reversed(ids)))):
        first = page_client.get(url, params={"limit": 3, "sort": sort})
        if sort == "updated":  # same timestamp from one import: ties broken by id, descending
            order = _ids(page_client.get(url, params={"limit": 10, "sort": sort}).text)
        assert _ids(first.text) == order[:3]
        next_url = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
        second = page_client.get(next_url)
        assert _ids(second.text) == order[3:6]
        third = page_client.get(re.search(r'id="next-page" href="([^"]+)"', second.text).group(1).replace("&amp;", "&"))
        assert _ids(third.text) == order[6:] and 'id="next-page"' not in third.text
        back = page_client.get(re.search(r'id="prev-page" href="([^"]+)"', third.text).group(1).replace("&amp;", "&"))
        assert _ids(back.text) == order[3:6]
    assert page_client.get(url, params={"after": "garbage!"}).status_code == 422


def test_example_page_edits_and_records_revisions(page_client, seed_pairs):
    ds, ids = seed_pairs(1)
    page = page_client.get(f"/examples/{ids[0]}")
    assert page.status_code == 200 and 'name="version" value="1"' in page.text and "Never edited" in page.text
    saved = page_client.post(f"/examples/{ids[0]}/edit", headers={"HX-Request": "true"},
                             data={"version": "1", "system": "", "input": "p0", "output": "better", "label": "x"})
    assert saved.status_code == 200 and 'id="saved"' in saved.text and 'name="version" value="2"' in saved.text
    assert "<html" not in saved.text
    revisions = re.findall(r"<td>(output|label)</td>", saved.text)
    assert sorted(revisions) == ["label", "output"]
    example = page_client.get(f"/api/v1/examples/{ids[0]}").json()
    assert (example["output"], example["label"], example["system"], example["version"]) == ("better", "x", None, 2)


def test_stale_edit_shows_a_conflict_and_does_not_overwrite(page_client, seed_pairs):
    ds, ids = seed_pairs(1)
    page_client.patch(f"/api/v1/examples/{ids[0]}", json={"version": 1, "output": "theirs"})
    stale = page_client.post(f"/examples/{ids[0]}/edit", headers={"HX-Request": "true"},
                             data={"version": "1", "input": "p0", "output": "mine"})
    assert stale.status_code == 409
    assert 'id="conflict"' in stale.text and "someone else changed this example" in stale.text
    assert "mine</textarea>" in stale.text and "<pre>theirs</pre>" in stale.text  # both sides shown
    assert page_client.get(f"/api/v1/examples/{ids[0]}").json()["output"] == "theirs"
    missing_version = page_client.post(f"/examples/{ids[0]}/edit", data={"output": "x"})
    assert missing_version.status_code == 422


def test_pages_escape_user_text(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(rows=[{"id": "x", "prompt": XSS_INPUT, "completion": XSS_OUTPUT, "label": XSS_INPUT}])
    add_findings(ds["id"], [{"example_id": ids[0], "check": "label_issue", "score": 0.9,
                             "details": {"message": XSS_OUTPUT, "given_label": XSS_INPUT, "suggested_label": XSS_OUTPUT}}])
    page_client.post(f"/examples/{ids[0]}/edit", data={"version": "1", "output": XSS_OUTPUT + "!"})
    pages = [f"/datasets/{ds['id']}/examples", f"/datasets/{ds['id']}/examples?q=script",
             f"/examples/{ids[0]}", f"/datasets/{ds['id']}/review/label_issue", f"/datasets/{ds['id']}/health",
             f"/datasets/{ds['id']}/export/preview?include_status=pending&exclude_checks=format"]
    for url in pages:
        html = page_client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img src=x onerror=alert(2)&gt;" in html, url


def test_unknown_example_is_404(page_client):
    assert page_client.get("/examples/12345").status_code == 404


def test_the_api_and_the_browser_select_the_same_examples(page_client, seed_pairs, add_findings):
    """One query builder (app/services/example_query.py): every filter means the same in both faces."""
    ds, ids = seed_pairs(rows=[
        {"id": "a", "prompt": "the cat sat", "completion": "animal", "label": "pets"},
        {"id": "b", "prompt": "stock prices", "completion": "finance talk", "label": "money"},
        {"id": "c", "prompt": "dog walk", "completion": "a CAT chased it", "label": "pets"},
    ])
    add_findings(ds["id"], [{"example_id": ids[1], "check": "outlier", "score": 0.9, "details": {"message": "odd"}},
                            {"example_id": ids[2], "check": "outlier", "score": 0.8, "details": {"message": "odd"},
                             "status": "dismissed"},
                            {"example_id": ids[0], "check": "format", "score": 0.5, "details": {"message": "x"},
                             "status": "resolved"}])
    for params in ({}, {"q": "cat"}, {"label": "pets"}, {"check": "outlier"}, {"finding_status": "dismissed"},
                   {"check": "outlier", "finding_status": "dismissed"}, {"finding_status": "resolved"},
                   {"check": "format", "finding_status": "open"}, {"q": "cat", "label": "pets", "check": "outlier",
                                                                  "finding_status": "dismissed"}):
        api = page_client.get(f"/api/v1/datasets/{ds['id']}/examples", params=params).json()
        browser = _ids(page_client.get(f"/datasets/{ds['id']}/examples", params=params).text)
        assert [e["id"] for e in api["items"]] == browser, params
    bad = page_client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"finding_status": "gone"})
    assert bad.status_code == 422
