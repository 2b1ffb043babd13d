"""Every page of an example search, walked by cursor: what a client following `next_cursor` sees."""

from sqlmodel import Session

from app.services.examples import list_examples


def search_ids(database, dataset_id: int, q: str, limit: int = 7) -> list[int]:
    with Session(database) as session:
        ids, cursor = [], None
        while True:
            page = list_examples(session, dataset_id, q=q, limit=limit, cursor=cursor)
            ids += [e.id for e in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return ids
