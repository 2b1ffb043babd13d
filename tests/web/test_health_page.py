"""The health page for an ML engineer: every check, linked reasons, histograms, cluster sizes and the map."""

import re

import numpy as np

from tests.analysis.helpers import analyse


def test_health_page_after_an_analysis(page_client, seed_pairs):
    rows = [{"id": f"{i}", "prompt": f"question {i % 8} about topic {'alpha beta' if i % 2 else 'gamma'}",
             "completion": ["yes", "no", "maybe"][i % 3]} for i in range(40)]
    ds, ids = seed_pairs(rows=rows, task_type="classification")
    analyse(page_client, ds["id"])
    page = page_client.get(f"/datasets/{ds['id']}/health")
    assert page.status_code == 200
    # Every check is listed, those with no finding too.
    listed = re.findall(r'<tr data-check="(\w+)"', page.text)
    from app.checks.registry import CHECKS

    assert set(listed) == set(CHECKS) and {"exact_duplicate", "label_issue", "outlier"} <= set(listed)
    # Readiness reasons link to the queue that settles them.
    assert f'<a href="/datasets/{ds["id"]}/review/exact_duplicate">review exact duplicates</a>' in page.text
    assert 'aria-label="scores of exact_duplicate"' in page.text
    assert 'aria-label="input token lengths"' in page.text and 'aria-label="output token lengths"' in page.text
    assert 'aria-label="clusters by size"' in page.text
    # The map: one dot per example here (under the sample size), each a link to its example.
    dots = set(map(int, re.findall(r'<a href="/examples/(\d+)"><circle', page.text)))
    assert dots == set(ids)
    assert 'class="c0' in page.text and "colour by open finding" in page.text


def test_map_samples_and_bins_large_datasets():
    from app.services.health import MAP_SAMPLE, EmbeddingMap, MapPoint
    from app.web.charts import embedding_map

    rng = np.random.default_rng(1)
    points = [MapPoint(i, float(x), float(y), f"l{i % 30}", i % 7 == 0) for i, (x, y) in
              enumerate(rng.random((MAP_SAMPLE, 2)))]
    chart = embedding_map(EmbeddingMap(points, [(0, 0, 100_000), (5, 3, 1)], 100_001, 0.4))
    assert len(chart.dots) == MAP_SAMPLE and len(chart.legend) == 10  # 10 colours, the rest "other"
    assert {d.colour for d in chart.dots} == set(range(11))
    assert chart.cells[0].opacity > chart.cells[1].opacity


def test_compact_class_chart_for_many_labels():
    from app.web.charts import class_distribution

    chart = class_distribution({f"label {i}": 100 - i for i in range(56)}, {}, [])
    assert chart.height < 300 and len(chart.bars) == 56


def test_label_issues_above_the_threshold_block_readiness(client, seed_pairs):
    from app.db import session_scope
    from app.models import Finding

    ds, ids = seed_pairs(10)
    with session_scope() as session:
        session.add(Finding(dataset_id=ds["id"], example_id=ids[0], check="label_issue", score=0.9, details={}))
    report = client.get(f"/api/v1/datasets/{ds['id']}/report").json()["readiness"]
    item = next(i for i in report["items"] if i["check"] == "label_issue")
    assert "10.0% of the examples, above the 2%" in item["message"]
