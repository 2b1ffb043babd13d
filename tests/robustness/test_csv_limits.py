"""Issue #13.9: CSV imports cap columns and line length (documented settings), and stop when the client goes."""

import socket
import time


from app.config import get_settings


def test_a_csv_with_too_many_columns_is_refused_at_its_header(client, make_dataset, import_jsonl):
    dataset = make_dataset("wide")
    columns = get_settings().import_max_csv_columns + 1
    header = "prompt,completion," + ",".join(f"c{i}" for i in range(columns - 2))
    rows = "\n".join("q%d,a,%s" % (n, ",".join("x" * (columns - 2))) for n in range(3))
    response = client.post(f"/api/v1/datasets/{dataset['id']}/import", content=f"{header}\n{rows}".encode(),
                           headers={"content-type": "text/csv"})
    assert response.status_code == 422, response.text[:300]
    error = response.json()["errors"][0]
    assert error["line"] == 1 and "WINNOW_IMPORT_MAX_CSV_COLUMNS" in error["message"]
    assert client.get(f"/api/v1/datasets/{dataset['id']}/examples").json()["total"] == 0


def test_a_line_longer_than_the_limit_is_named(client, make_dataset, import_jsonl, monkeypatch):
    monkeypatch.setattr(get_settings(), "import_max_line_length", 2048)
    dataset = make_dataset("long")
    csv_body = "prompt,completion\nq1,a\nq2," + "b" * 5000 + "\nq3,c\n"
    response = client.post(f"/api/v1/datasets/{dataset['id']}/import", content=csv_body.encode(),
                           headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["line"] == 3 and "WINNOW_IMPORT_MAX_LINE_LENGTH" in response.text
    jsonl = '{"prompt": "p1", "completion": "c"}\n{"prompt": "%s", "completion": "c"}\n{"prompt": "p3", "completion": "c"}' % ("x" * 5000)
    skipped = import_jsonl(dataset["id"], jsonl, on_error="skip")
    assert skipped.status_code == 200 and skipped.json()["imported"] == 2
    assert skipped.json()["errors"][0]["line"] == 2


def test_csv_weights_must_be_finite(client, make_dataset):
    dataset = make_dataset("weights")
    response = client.post(f"/api/v1/datasets/{dataset['id']}/import", content=b"prompt,completion,weight\nq,a,inf\n",
                           headers={"content-type": "text/csv"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "weight"


def test_the_import_stops_when_the_client_disconnects(live_server_factory):
    server = live_server_factory()
    with server.client() as api:
        dataset = api.post("/api/v1/datasets", json={"name": "gone"}).json()
    rows = 300_000
    body = ("prompt,completion,topic\n" + "".join(f"question number {i},answer {i},t{i % 7}\n" for i in range(rows))).encode()
    host, port = "127.0.0.1", server.port
    request = (f"POST /api/v1/datasets/{dataset['id']}/import HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: {server.headers['Authorization']}\r\nContent-Type: text/csv\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, port)) as sock:
        sock.sendall(request + body)
        time.sleep(1.0)  # the server has the body and is importing
    deadline = time.monotonic() + 120
    while "client disconnected" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "client disconnected" in server.output()
    with server.client() as api:
        for _ in range(20):  # let the stopped import roll back
            total = api.get(f"/api/v1/datasets/{dataset['id']}/examples").json()["total"]
            time.sleep(0.2)
        assert total == 0
        assert api.get("/api/v1/me").status_code == 200
