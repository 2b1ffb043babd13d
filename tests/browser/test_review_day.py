"""A day of review in a real browser, on data seeded without an analysis (fast): clusters larger than a
page of cards, undo, the label picker for many labels, queue search and context, rules with a stated
count, the example page's status and history, and the health page's map."""

import re
from types import SimpleNamespace

import numpy as np
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.web.conftest import add_findings, seed_pairs  # noqa: F401  (fixtures)

IDLE = ".htmx-request, .htmx-settling, .htmx-swapping"


def _settled(page):
    expect(page.locator(IDLE)).to_have_count(0)


def test_cluster_undo_rule_and_search(page, seed_pairs, add_findings):
    rows = [{"id": f"d{i}", "prompt": "How do I reset my password" + ("?" if i % 4 else " quickly?"),
             "completion": "Use the reset link." if i % 4 else "Use the reset link on the sign-in page."}
            for i in range(12)]
    rows += [{"id": f"p{i}", "prompt": f"printer question {i // 2}", "completion": "Restart it."} for i in range(6)]
    ds, ids = seed_pairs(rows=rows, description="Keep **one** copy of each question.\n\n- reject copies")
    cluster = ids[:12]
    details = {"cluster_id": f"exact:{cluster[0]}", "duplicate_of": cluster[0], "members": cluster[:8],
               "message": "The input is the same as another example's."}
    add_findings(ds["id"], [{"example_id": i, "check": "exact_duplicate", "score": 1.0, "details": details}
                            for i in cluster[1:]])
    pairs = ids[12:]
    add_findings(ds["id"], [{"example_id": pairs[i + 1], "check": "exact_duplicate", "score": 0.99, "details": {
        "cluster_id": f"exact:{pairs[i]}", "duplicate_of": pairs[i], "members": [pairs[i], pairs[i + 1]]}}
        for i in (0, 2, 4)])

    page.goto(f"/datasets/{ds['id']}/review/exact_duplicate")
    expect(page.locator("h1")).to_have_text("Review: Exact duplicates")
    expect(page.locator("#queue-progress")).to_contain_text("0 of 14 reviewed")
    page.click("#guidelines summary")
    expect(page.locator("#guidelines strong", has_text="one")).to_be_visible()
    current = page.locator(".queue-item.current")
    expect(current.locator(".cluster-head")).to_contain_text("12 members in 2 distinct versions")
    expect(current.locator(".copies").first).to_contain_text("identical copies")
    expect(current.locator("del.diff").first).to_be_visible()
    screenshot(page, "review-cluster")

    # Shift+1 keeps the first card's example and rejects the other 11, the whole cluster at once.
    page.keyboard.press("Shift+Digit1")
    expect(page.locator("#notice")).to_contain_text("rejected 11 others")
    expect(page.locator("#queue-count")).to_contain_text("3 open findings")
    _settled(page)
    page.keyboard.press("u")
    expect(page.locator("#notice")).to_contain_text("Undone: 11 findings back in the queue")
    expect(page.locator("#queue-count")).to_contain_text("14 open findings")

    # `/` searches within the queue.
    _settled(page)
    page.keyboard.press("/")
    page.keyboard.type("printer question 1")
    expect(page.locator("#queue-count")).to_contain_text("1 open finding matching")
    page.fill("[data-search]", "")
    page.locator("[data-search]").press("Enter")
    expect(page.locator("#queue-count")).to_contain_text("14 open findings")
    _settled(page)

    # The rule states its count, then settles the agreeing clusters (the 3 printer pairs; the big cluster
    # disagrees in its outputs and stays).
    page.click("#rule-agreeing")
    expect(page.locator("#confirm")).to_contain_text("3 clusters have members that all give the same answer")
    screenshot(page, "review-rule-confirm")
    page.click("#confirm-button")
    expect(page.locator("#notice")).to_contain_text("Settled 3 clusters")
    expect(page.locator("#queue-count")).to_contain_text("11 open findings")
    assert page.problems == []


def test_label_picker_for_many_labels_and_edit_round_trip(page, seed_pairs, add_findings):
    labels = [f"topic {i:02d}" for i in range(60)]
    rows = [{"id": f"r{i}", "prompt": f"text {i}", "completion": labels[i % 60]} for i in range(120)]
    ds, ids = seed_pairs(rows=rows, task_type="classification")
    top = [["topic 57", 0.61], ["topic 03", 0.22], ["topic 10", 0.08]]
    fids = add_findings(ds["id"], [{"example_id": ids[i], "check": "label_issue", "score": 0.9 - i / 100, "details": {
        "given_label": labels[i % 60], "suggested_label": "topic 57", "top_labels": top,
        "message": "The label looks wrong."}} for i in range(4)])
    page.goto(f"/datasets/{ds['id']}/review/label_issue")
    current = page.locator(".queue-item.current")
    expect(current.locator(".top-labels")).to_contain_text("topic 57 61%")
    expect(current.locator(".fieldbox h3", has_text="output")).to_have_count(0)  # compact classification layout
    screenshot(page, "review-label-picker")
    page.keyboard.press("l")
    page.keyboard.type("topic 42")
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text(f"Example #{ids[0]} labelled “topic 42”")
    _settled(page)
    expect(page.locator(".queue-item.current")).to_have_attribute("data-finding-id", str(fids[1]))
    page.keyboard.press("j")
    edited = page.locator(".queue-item.current").get_attribute("data-finding-id")
    page.keyboard.press("e")
    page.wait_for_url(re.compile(r"/examples/\d+\?back="))
    page.click("text=Back to the queue")
    expect(page.locator(".queue-item.current")).to_have_attribute("data-finding-id", edited)

    # "All matching" asks with the count before changing anything.
    page.select_option("#bulk-scope", "all")
    page.click(".queue-toolbar button[value=dismiss]")
    expect(page.locator("#confirm")).to_contain_text("Dismiss all 3 open findings of label issues?")
    page.click("#confirm-button")
    expect(page.locator("#notice")).to_contain_text("3 items dismissed")
    expect(page.locator("#queue-empty")).to_be_visible()
    assert page.problems == []


def test_example_status_revert_and_health_map(page, seed_pairs, add_findings, client):
    from app.config import get_settings
    from app.embeddings.neighbour_graph import analysis_cache_dir
    from app.services.projection import save_health_arrays

    rows = [{"id": f"r{i}", "prompt": f"question {i} about {'cats' if i % 2 else 'dogs'}",
             "completion": "cats" if i % 2 else "dogs"} for i in range(30)]
    ds, ids = seed_pairs(rows=rows, task_type="classification")
    add_findings(ds["id"], [{"example_id": ids[0], "check": "outlier", "score": 0.7, "details": {}}])
    rng = np.random.default_rng(0)
    examples = [SimpleNamespace(input=r["prompt"], output=r["completion"]) for r in rows]
    save_health_arrays(SimpleNamespace(cache_dir=analysis_cache_dir(get_settings().data_dir, ds["id"]),
                                       examples=examples, ids=np.array(ids), vectors=rng.normal(size=(30, 8))),
                       get_settings().data_dir)
    page.goto(f"/datasets/{ds['id']}/health")
    from app.checks.registry import CHECKS

    expect(page.locator("tr[data-check]")).to_have_count(len(CHECKS))
    expect(page.locator("svg.map circle")).to_have_count(30)
    page.check("#colour-finding")
    screenshot(page, "health-map")
    page.locator(f'svg.map a[href="/examples/{ids[0]}"] circle').click()
    page.wait_for_url(re.compile(rf"/examples/{ids[0]}$"))

    page.click("#status-control button[data-status=rejected]")
    expect(page.locator("#notice")).to_have_text("Status set to rejected.")
    expect(page.locator("#status-badge")).to_have_text("rejected")
    page.click("#status-control button[data-status=pending]")
    expect(page.locator("#status-badge")).to_have_text("pending")
    page.fill("textarea[name=input]", "question 0 about wolves")
    page.click("#editor button:has-text('Save')")
    expect(page.locator("#revisions ins.diff", has_text="wolves")).to_be_visible()
    expect(page.locator("#revisions del.diff", has_text="dogs")).to_be_visible()
    page.locator("#revisions tr", has_text="input").locator("[data-revert]").click()
    expect(page.locator("#notice")).to_contain_text("Change reverted")
    expect(page.locator("textarea[name=input]")).to_have_value("question 0 about dogs")
    screenshot(page, "example-history")
    assert page.problems == []
