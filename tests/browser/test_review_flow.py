"""The whole path in a real browser: create, upload, analyse, review with the keyboard, edit, export."""

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

XSS = "<script>alert('x')</script><img src=x onerror=alert('y')>"


def _pairs_file(tmp_path):
    topics = {"billing": "invoice payment refund charge", "tech": "error crash install update",
              "account": "password login email profile"}
    rows = []
    for i in range(45):
        label = list(topics)[i % 3]
        words = topics[label].split()
        rows.append({"id": f"r{i}", "prompt": f"{words[i % 4]} question {i}: my {words[(i + 1) % 4]} is wrong",
                     "completion": label})
    for i in range(5):  # exact duplicates of earlier prompts, one with another label: duplicate + conflict findings
        rows.append({"id": f"dup{i}", "prompt": rows[i]["prompt"].upper(), "completion": "billing"})
    rows.append({"id": "xss", "prompt": XSS, "completion": "tech"})
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json}\n")
    return path


def test_create_upload_analyse_review_edit_export(page, tmp_path):
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("Datasets")
    page.click("text=New dataset")
    page.fill("input[name=name]", "support-tickets")
    page.check("input[value=classification]")
    page.fill("textarea[name=label_set]", "billing, tech, account")
    page.click("button:has-text('Create dataset')")
    page.wait_for_url(re.compile(r"/datasets/\d+$"))
    dataset_url = page.url

    # Upload: the bad last line aborts first, then "skip" imports the rest.
    page.set_input_files("input[type=file]", str(_pairs_file(tmp_path)))
    page.click("button:has-text('Upload')")
    expect(page.locator("#upload-result")).to_contain_text("Nothing was imported")
    expect(page.locator("#import-errors")).to_contain_text("52")  # the line number of {not json}
    page.select_option("select[name=on_error]", "skip")
    page.click("button:has-text('Upload')")
    expect(page.locator("#upload-result")).to_contain_text("Imported 51 new")
    assert page.eval_on_selector("#upload-progress", "bar => bar.value") == 100  # fed by htmx:xhr:progress
    screenshot(page, "browser-upload")

    # Analyse: the progress fragment polls until the job ends.
    page.reload()
    page.click("#analyse-button")
    expect(page.locator(".job .job-status")).to_have_text("succeeded", timeout=180_000)
    # The job really ran the packaged transformer and cleanlab's label-issue search.
    dataset_id = int(dataset_url.rsplit("/", 1)[1])
    result = page.request.get(f"/api/v1/datasets/{dataset_id}/report").json()["last_analysis"]["result"]
    assert result["embedding_model"] == "all-MiniLM-L6-v2" and result["embedded"] == 51
    assert "label_issue" in result["seconds"], result["seconds"]
    page.goto(dataset_url + "/health")
    expect(page.locator("#distribution svg.chart")).to_be_visible()
    expect(page.locator("svg.map circle").first).to_be_visible()  # the map of the real embeddings
    screenshot(page, "browser-health")

    # Review the exact-duplicate queue with the keyboard alone.
    page.goto(dataset_url + "/review/exact_duplicate")
    count = page.locator("#queue-count")
    total = int(re.match(r"(\d+)", count.inner_text()).group(1))
    assert total == 5
    first = page.locator(".queue-item.current").get_attribute("data-finding-id")
    page.keyboard.press("j")
    second = page.locator(".queue-item.current").get_attribute("data-finding-id")
    assert second != first
    page.keyboard.press("k")
    expect(page.locator(".queue-item.current")).to_have_attribute("data-finding-id", first)
    screenshot(page, "browser-queue")
    url_before = page.url
    page.keyboard.press("a")
    expect(page.locator("#notice")).to_contain_text("accepted")
    expect(page.locator("#notice")).not_to_contain_text(f"finding {first}")  # words, not internal ids
    expect(count).to_contain_text(f"{total - 1} open")
    assert page.url == url_before  # no page load: the queue fragment was swapped in
    expect(page.locator(".queue-item.current")).to_have_attribute("data-finding-id", second)
    page.keyboard.press("d")
    expect(page.locator("#notice")).to_contain_text("dismissed")
    expect(page.locator(".queue-item.current a[data-edit]")).to_be_visible()
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
    third = page.locator(".queue-item.current").get_attribute("data-finding-id")
    page.keyboard.press("e")  # the editor of the current item, with a way back
    page.wait_for_url(re.compile(r"/examples/\d+\?back="))
    page.click("text=Back to the queue")
    expect(page.locator(".queue-item.current")).to_have_attribute("data-finding-id", third)  # the same item
    page.keyboard.press("3")  # the third listed label: "account"
    expect(page.locator("#notice")).to_contain_text("labelled “account”")
    # Bulk: x selects the current item, j moves on, x selects the next; one click rejects both.
    expect(count).to_contain_text("2 open")
    # htmx re-selects the server's current item when the swap settles: let it finish first.
    # (A locator, not wait_for_function: Chromium 156 refuses its eval under the app's CSP.)
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator("input[name=finding_ids]:checked")).to_have_count(2)
    page.click(".queue-toolbar button[value=reject]")
    expect(page.locator("#notice")).to_contain_text("2 items rejected")
    expect(page.locator("#queue-empty")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")

    # Label keys and edit on the label-issue or format queue of the XSS pair: open it from the examples list.
    page.goto(dataset_url + "/examples")
    page.keyboard.press("/")
    page.keyboard.type("script")  # the results update as one types (htmx), no submit
    expect(page.locator("#result-count")).to_have_text("1 example")
    assert "q=script" in page.url  # pushed into the address bar
    expect(page.locator("#examples")).to_contain_text("<script>alert('x')</script>")  # shown as text
    page.click("#examples tbody a >> nth=0")
    expect(page.locator("textarea[name=input]")).to_have_value(XSS)
    page.fill("textarea[name=output]", "account")
    page.click("#editor button:has-text('Save')")
    expect(page.locator("#saved")).to_contain_text("version 2")
    expect(page.locator("#revisions")).to_contain_text("account")
    screenshot(page, "browser-example")

    # Export with a live preview of the split counts.
    page.goto(dataset_url + "/export")
    expect(page.locator("#preview-table")).to_be_visible()
    page.fill("input[name=split_train]", "0.6")
    page.fill("input[name=split_validation]", "0.2")
    page.fill("input[name=split_test]", "0.2")
    page.locator("input[name=split_test]").dispatch_event("change")
    expect(page.locator("#preview-table")).to_be_visible()
    page.click("#export-button")
    expect(page.locator("#export-done")).to_contain_text("succeeded")
    expect(page.locator("#export-done a", has_text="train.jsonl")).to_be_visible()
    expect(page.locator("#export-done")).to_be_in_viewport()  # the result is scrolled into view
    screenshot(page, "browser-export")
    assert page.problems == []
