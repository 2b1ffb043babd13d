import json

from app.web.csrf import COOKIE_NAME

XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def test_datasets_list_is_empty_then_shows_size_and_health(page_client, make_dataset, import_jsonl):
    empty = page_client.get("/")
    assert "No dataset yet" in empty.text
    ds = make_dataset("reviews", task_type="classification", label_set=["pos", "neg"])
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "pos"}) for i in range(3)))
    page = page_client.get("/")
    assert page.status_code == 200
    assert f'href="/datasets/{ds["id"]}"' in page.text and "reviews" in page.text
    assert ">3<" in page.text and "not analysed" in page.text


def test_create_form_renders_and_creates(page_client):
    form = page_client.get("/datasets/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    created = page_client.post("/datasets", data={
        "csrf_token": page_client.csrf, "name": "intents", "task_type": "classification",
        "label_set": "greet, bye\nthanks", "output_schema": ""}, follow_redirects=False)
    assert created.status_code == 303
    shown = page_client.get(created.headers["location"])
    assert shown.status_code == 200 and "greet, bye, thanks" in shown.text
    via_htmx = page_client.post("/datasets", data={"name": "other", "task_type": "generation"},
                                headers={"HX-Request": "true"})
    assert via_htmx.status_code == 204 and via_htmx.headers["HX-Redirect"].startswith("/datasets/")


def test_create_form_shows_field_errors(page_client, make_dataset):
    make_dataset("taken")
    duplicate = page_client.post("/datasets", data={"name": "taken", "task_type": "generation"},
                                 headers={"HX-Request": "true"})
    assert duplicate.status_code == 422
    assert 'id="error-name"' in duplicate.text and "already exists" in duplicate.text
    assert "<html" not in duplicate.text  # the form fragment only
    bad_schema = page_client.post("/datasets", data={"name": "x", "output_schema": "{not json"})
    assert bad_schema.status_code == 422 and 'id="error-output_schema"' in bad_schema.text
    invalid_schema = page_client.post("/datasets", data={"name": "x", "output_schema": '{"type": 5}'})
    assert invalid_schema.status_code == 422 and "not a valid JSON Schema" in invalid_schema.text
    repeated = page_client.post("/datasets", data={"name": "x", "label_set": "a, a"})
    assert repeated.status_code == 422 and 'id="error-label_set"' in repeated.text and "unique" in repeated.text
    assert page_client.get("/api/v1/datasets").json()["total"] == 1


def test_state_change_without_csrf_token_is_refused(client):
    client.get("/")
    refused = client.post("/datasets", data={"name": "sneaky"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = client.post("/datasets", data={"name": "sneaky", "csrf_token": "forged"},
                        headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    client.cookies.clear()
    no_cookie = client.post("/datasets", data={"name": "sneaky"}, headers={"X-CSRF-Token": "x"})
    assert no_cookie.status_code == 403
    assert client.get("/api/v1/datasets").json()["total"] == 0


def test_csrf_refusal_in_htmx_goes_to_the_flash_area(client, make_dataset):
    ds = make_dataset()
    client.get("/")
    refused = client.post(f"/datasets/{ds['id']}/upload", files={"file": ("a.jsonl", b'{"prompt":"a","completion":"b"}')},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 403 and refused.headers["HX-Retarget"] == "#flash"
    assert client.get(f"/api/v1/datasets/{ds['id']}").json()["example_count"] == 0


def test_upload_imports_and_lists_line_errors(page_client, make_dataset):
    ds = make_dataset("up")
    body = (json.dumps({"prompt": "good", "completion": "yes"}) + "\n" + '{"prompt": 3, "completion": "b"}\n'
            + json.dumps({"prompt": XSS, "completion": "ok"}) + "\n{broken\n")
    aborted = page_client.post(f"/datasets/{ds['id']}/upload", data={"format": "auto", "on_error": "abort"},
                               files={"file": ("pairs.jsonl", body.encode())}, headers={"HX-Request": "true"})
    assert aborted.status_code == 422 and "Nothing was imported" in aborted.text
    assert 'id="import-errors"' in aborted.text and "<td class=\"num\">2</td>" in aborted.text
    skipped = page_client.post(f"/datasets/{ds['id']}/upload", data={"format": "auto", "on_error": "skip"},
                               files={"file": ("pairs.jsonl", body.encode())}, headers={"HX-Request": "true"})
    assert skipped.status_code == 200 and "Imported 2 new" in skipped.text and "skipped 2" in skipped.text
    # The page's figures are swapped for fresh ones, so they do not say 0 beside "Imported 2 new".
    assert 'id="dataset-facts" hx-swap-oob="true"' in skipped.text
    assert '<dd id="example-count">2</dd>' in skipped.text and 'hx-swap-oob' not in aborted.text
    csv = page_client.post(f"/datasets/{ds['id']}/upload", data={"on_error": "abort"},
                           files={"file": ("more.csv", b"input,output\nhello,world\n", "text/csv")})
    assert csv.status_code == 200 and "Imported 1 new" in csv.text and "<html" in csv.text
    assert page_client.get(f"/api/v1/datasets/{ds['id']}").json()["example_count"] == 3


def test_user_text_is_escaped_on_dataset_pages(page_client, make_dataset):
    ds = make_dataset(XSS, description=XSS, label_set=[XSS])
    for url in ("/", f"/datasets/{ds['id']}"):
        html = page_client.get(url).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_dataset_is_an_html_404(page_client):
    response = page_client.get("/datasets/999")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "dataset 999 not found" in response.text


def test_csrf_cookie_is_strict_and_httponly(client):
    response = client.get("/")
    cookie = response.headers["set-cookie"]
    assert COOKIE_NAME in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
