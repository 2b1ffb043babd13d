"""Example list filters by metadata, finding score and input length; search matches highlighted."""

import re
from urllib.parse import unquote


def _listed(page) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="num"><a href="/examples/(\d+)">', page.text)]


def test_metadata_score_and_length_filters(page_client, seed_pairs, add_findings):
    rows = [{"id": "a", "prompt": "short", "completion": "x", "metadata": {"source": "forum", "turns": 3}},
            {"id": "b", "prompt": "a much longer input text here", "completion": "y", "metadata": {"source": "docs"}},
            {"id": "c", "prompt": "medium input", "completion": "z"}]
    ds, ids = seed_pairs(rows=rows)
    add_findings(ds["id"], [{"example_id": ids[0], "check": "outlier", "score": 0.9, "details": {}},
                            {"example_id": ids[1], "check": "outlier", "score": 0.3, "details": {}}])
    url = f"/datasets/{ds['id']}/examples"
    assert _listed(page_client.get(url, params={"meta_key": "source", "meta_value": "docs"})) == [ids[1]]
    assert _listed(page_client.get(url, params={"meta_key": "source"})) == ids[:2]
    assert _listed(page_client.get(url, params={"meta_key": "turns", "meta_value": "3"})) == [ids[0]]
    assert _listed(page_client.get(url, params={"min_score": "0.5"})) == [ids[0]]
    assert _listed(page_client.get(url, params={"max_score": "0.5", "check": "outlier"})) == [ids[1]]
    assert _listed(page_client.get(url, params={"min_length": "6", "max_length": "20"})) == [ids[2]]
    bad = page_client.get(url, params={"min_score": "high"})
    assert bad.status_code == 422 and "min score must be a number" in bad.text


def test_search_matches_are_highlighted_and_escaped(page_client, seed_pairs):
    long_prefix = "word " * 100
    ds, ids = seed_pairs(rows=[{"id": "a", "prompt": long_prefix + "the <b>Needle</b> here", "completion": "ok"}])
    page = page_client.get(f"/datasets/{ds['id']}/examples", params={"q": "needle"})
    assert "&lt;b&gt;<mark>Needle</mark>&lt;/b&gt;" in page.text  # the match shows though it is past 300 chars


def test_highlight_window_and_escaping():
    from app.web.highlight import highlight

    assert str(highlight("a<b>c", None)) == "a&lt;b&gt;c"
    assert str(highlight("Cat cat", "cat")) == "<mark>Cat</mark> <mark>cat</mark>"
    assert str(highlight("x" * 500 + "cat", "cat", 100)).startswith("…")
    # The list shows three lines of a text: the window starts on the match's line, at a word.
    text = "A tool.\n\nIt reads many files and writes them out again, then it runs python scripts."
    assert str(highlight(text, "python", 300)).startswith("…writes them out again, then it runs <mark>python</mark>")
    assert str(highlight("A tool.\n\nIt runs python.", "python")) == "…It runs <mark>python</mark>."
    # Only ASCII letters fold, as in the search: the Kelvin sign is not a "k".
    assert "<mark>" not in str(highlight("\u212aelvin", "kelvin"))


def test_all_matching_examples_with_a_stated_count(page_client, seed_pairs):
    rows = [{"id": f"r{i}", "prompt": f"{'printer' if i < 3 else 'screen'} trouble {i}", "completion": "x"}
            for i in range(5)]
    ds, ids = seed_pairs(rows=rows)
    url = f"/datasets/{ds['id']}/examples/bulk"
    hx = {"HX-Request": "true"}
    asked = page_client.post(url, data={"q": "printer", "bulk_action": "reject"}, headers=hx)
    assert asked.status_code == 200 and "Reject: all 3 matching examples?" in asked.text
    stale = page_client.post(url, data={"q": "printer", "bulk_action": "reject", "expected": 4}, headers=hx)
    assert stale.status_code == 409 and "3 examples match now, not the 4" in stale.text
    done = page_client.post(url, data={"q": "printer", "bulk_action": "reject", "expected": 3}, headers=hx)
    assert done.status_code == 200 and "3 examples set to rejected" in done.text
    statuses = [page_client.get(f"/api/v1/examples/{i}").json()["status"] for i in ids]
    assert statuses == ["rejected"] * 3 + ["pending"] * 2
    labelled = page_client.post(url, data={"q": "screen", "bulk_action": "label", "bulk_label": "display",
                                           "expected": 2}, headers=hx)
    assert "2 examples labelled “display”" in labelled.text


def test_sort_by_score_pages_through_every_example(page_client, seed_pairs, add_findings):
    ds, ids = seed_pairs(4)
    add_findings(ds["id"], [{"example_id": ids[2], "check": "outlier", "score": 0.9, "details": {}},
                            {"example_id": ids[0], "check": "outlier", "score": 0.4, "details": {}},
                            {"example_id": ids[0], "check": "format", "score": 0.6, "details": {}}])
    seen, url, params = [], f"/datasets/{ds['id']}/examples", {"sort": "score", "limit": 1}
    for _ in range(5):
        page = page_client.get(url, params=params)
        seen += _listed(page)
        after = re.search(r'id="next-page" href="[^"]*after=([^"&]+)', page.text)
        if not after:
            break
        params = {"sort": "score", "limit": 1, "after": unquote(after.group(1))}
    assert seen == [ids[2], ids[0], ids[3], ids[1]]  # highest open score first; none: newest id first


def test_a_search_page_comes_first_and_its_count_after(page_client, seed_pairs):
    """In id order a search's page is shown without its count; the list then fetches the count, for the
    same filters. A page that holds every match states the count at once."""
    rows = [{"id": f"r{i}", "prompt": f"{'printer' if i % 2 else 'screen'} trouble {i}" + "!" * i, "completion": "x"}
            for i in range(9)]
    ds, ids = seed_pairs(rows=rows)
    url = f"/datasets/{ds['id']}/examples"
    page = page_client.get(url, params={"q": "printer", "limit": 2})
    assert _listed(page) == ids[1:5:2] and "counting matches…" in page.text
    count_url = unquote(re.search(r'id="result-count" hx-get="([^"]+)"', page.text).group(1).replace("&amp;", "&"))
    assert count_url == f"/datasets/{ds['id']}/examples/count?q=printer&sort=oldest"
    counted = page_client.get(count_url, headers={"HX-Request": "true"})
    assert counted.status_code == 200 and ">4 examples</p>" in counted.text
    assert 'id="bulk-scope" hx-swap-oob="true">All 4 matching:' in counted.text  # the bulk bar states it too
    narrowed = page_client.get(url + "/count", params={"q": "printer", "min_length": "22"})  # rows 5 and 7
    assert ">2 examples</p>" in narrowed.text
    whole = page_client.get(url, params={"q": "printer"})
    assert "counting" not in whole.text and ">4 examples</p>" in whole.text
    scored = page_client.get(url, params={"q": "printer", "sort": "label", "limit": 2})
    assert ">4 examples</p>" in scored.text  # another order reads every match anyway: counted with the page
    too_long = page_client.get(url + "/count", params={"q": "x" * 501})
    assert too_long.status_code == 422 and "q is longer than 500 characters" in too_long.text
