"""The example browser's keyset pages (the same paging as the API): every example once, forwards and
backwards, in every sort, ties in the sort key included."""

import json

import pytest
from sqlmodel import Session

from app.services.web_examples import SORTS, ExampleFilters, browse_examples


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_example_once_forwards_and_back(sort, make_dataset, import_jsonl, database):
    ds = make_dataset("browse", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"p{i}", "completion": "abc"[i % 3]}) for i in range(13)))
    with Session(database) as session:
        filters = ExampleFilters(sort=sort)
        pages, after = [], None
        while True:
            page = browse_examples(session, ds["id"], filters, after=after, limit=4)
            pages.append(page)
            after = page.next_cursor
            if after is None:
                break
        ids = [e.id for page in pages for e in page.items]
        assert len(ids) == len(set(ids)) == 13
        assert all(page.total == 13 for page in pages)
        if sort == "label":
            assert [e.label for page in pages for e in page.items] == sorted(e.label for p in pages for e in p.items)
        back = browse_examples(session, ds["id"], filters, before=pages[-1].prev_cursor, limit=4)
        assert [e.id for e in back.items] == [e.id for e in pages[-2].items]
