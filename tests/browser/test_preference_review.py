"""A preference set in a real browser: create, upload, analyse, then review pairs side by side with the keys."""

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

GOOD = "Z shell, a powerful command interpreter with programmable completion."
BAD = "Z shell."


def _pairs_file(tmp_path):
    rows = [{"id": "p1", "prompt": "Describe the package zsh", "chosen": GOOD, "rejected": BAD},
            {"id": "p2", "prompt": "Describe the package zsh", "chosen": BAD, "rejected": GOOD},  # preferred both ways
            {"id": "p3", "prompt": "Describe the package vim", "chosen": "Vi IMproved, an editor.",
             "rejected": "Vi IMproved, an editor."}]  # identical sides
    rows += [{"id": f"c{i}", "prompt": f"Describe the package tool{i}", "chosen": f"Tool {i} does many things well.",
              "rejected": f"Tool {i}."} for i in range(5)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_preference_pairs_are_reviewed_side_by_side_with_keys(page, tmp_path):
    page.goto("/datasets/new")
    page.fill("input[name=name]", "debian-preferences")
    page.check("input[value=preference]")
    page.click("button:has-text('Create dataset')")
    page.wait_for_url(re.compile(r"/datasets/\d+$"))
    dataset_url = page.url
    dataset_id = int(dataset_url.rsplit("/", 1)[1])
    page.set_input_files("input[type=file]", str(_pairs_file(tmp_path)))
    page.click("button:has-text('Upload')")
    expect(page.locator("#upload-result")).to_contain_text("Imported 8 new")
    page.reload()
    page.click("#analyse-button")
    expect(page.locator(".job .job-status")).to_have_text("succeeded", timeout=180_000)
    page.goto(dataset_url + "/health")
    expect(page.locator("#length-bias")).to_contain_text("Chosen is longer")
    screenshot(page, "browser-preference-health")

    # identical_sides: the two answers side by side; `a` accepts the pair anyway.
    page.goto(dataset_url + "/review/identical_sides")
    expect(page.locator(".queue-item.current [data-side=chosen]")).to_have_text("Vi IMproved, an editor.")
    page.keyboard.press("a")
    expect(page.locator("#notice")).to_contain_text("accept")

    # contradicting_preference: the differences are highlighted; `s` swaps the current pair's sides.
    page.goto(dataset_url + "/review/contradicting_preference")
    current = page.locator(".queue-item.current")
    expect(current.locator("[data-side=chosen] ins.diff, [data-side=rejected] ins.diff").first).to_be_visible()
    screenshot(page, "browser-preference-review")
    example_id = int(current.locator("a[data-edit]").inner_text().lstrip("example #"))
    before = page.request.get(f"/api/v1/examples/{example_id}").json()
    page.keyboard.press("s")
    expect(page.locator("#notice")).to_contain_text("swap")
    after = page.request.get(f"/api/v1/examples/{example_id}").json()
    assert (after["output"], after["rejected"]) == (before["rejected"], before["output"])
    fields = {r["field"] for r in page.request.get(f"/api/v1/examples/{example_id}/revisions").json()}
    assert fields == {"output", "rejected"}
    assert page.request.get(f"/api/v1/datasets/{dataset_id}/report").json()["length_bias"]["pairs"] == 8
    assert not page.problems, page.problems
