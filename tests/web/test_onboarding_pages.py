"""Onboarding: the queue card arrives with the analysis's last progress answer; errors are in words."""

import re

from tests.analysis.helpers import analyse


def test_queue_card_is_sent_with_the_finished_analysis_progress(page_client, seed_pairs):
    rows = [{"id": f"{i}", "prompt": f"same question {i % 3}", "completion": "a"} for i in range(9)]
    ds, _ = seed_pairs(rows=rows)
    before = page_client.get(f"/datasets/{ds['id']}")
    assert re.search(r'<section class="card" id="review-queues"\s+hidden>', before.text)  # the slot, empty
    job = analyse(page_client, ds["id"])
    progress = page_client.get(f"/jobs/{job['id']}/progress", headers={"HX-Request": "true"})
    card = progress.text[progress.text.index('id="review-queues"'):]
    assert 'hx-swap-oob="true"' in card and "hidden" not in card.split(">")[0]
    assert f'href="/datasets/{ds["id"]}/review/exact_duplicate">Exact duplicates</a>' in card


def test_errors_on_pages_are_words_not_codes(page_client, seed_pairs):
    ds, _ = seed_pairs(2)
    response = page_client.post(f"/datasets/{ds['id']}/review/outlier/bulk", data={"bulk_action": "accept"},
                                headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Please check:" in response.text and "select at least one item first" in response.text
    assert "422" not in response.text and "field:" not in response.text and "finding_ids" not in response.text
