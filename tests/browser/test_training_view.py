"""The training view and the export answer's warnings, as a user sees them in a real browser."""

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_training_view_and_export_warnings(page, tmp_path):
    rows = [{"id": "chat", "messages": [
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "5", "weight": 0}, {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"}]},
        {"id": "plain", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    page.goto("/")
    page.click("text=New dataset")
    page.fill("input[name=name]", "chat-view")
    page.click("button:has-text('Create dataset')")
    page.wait_for_url(re.compile(r"/datasets/\d+$"))
    dataset_url = page.url
    page.set_input_files("input[type=file]", str(path))
    page.click("button:has-text('Upload')")
    expect(page.locator("#upload-result")).to_contain_text("Imported 2 new")

    page.goto(dataset_url + "/examples")
    page.locator("a[href^='/examples/']").first.click()
    view = page.locator("#training-view")
    expect(view).to_contain_text("o200k_base")
    expect(page.locator("#training-view .tok-train", has_text="6")).to_be_visible()
    page.select_option("#training select[name=mode]", "all")
    expect(view).to_contain_text("every token")
    screenshot(page, "browser-training-view")

    page.goto(dataset_url + "/export")
    expect(page.locator("#training-view-slot #training-view")).to_be_visible()
    page.click("#export-button")
    expect(page.locator("#export-done")).to_contain_text("succeeded")
    expect(page.locator("#export-warnings")).to_contain_text("split is empty")
    expect(page.locator("#export-format-checks")).to_contain_text("OpenAI requires at least 10")
    screenshot(page, "browser-export-warnings")
    assert page.problems == []
