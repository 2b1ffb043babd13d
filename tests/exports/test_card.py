"""The dataset card shows user text (dataset name, labels) as text: no Markdown, no HTML, no broken table."""

from app.config import get_settings
from app.exports.card import md
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder

HOSTILE = "two\nlines # heading <script>alert(1)</script> a|b [link](x)"


def test_md_escapes_markdown_and_html_and_joins_lines():
    assert md(HOSTILE) == ("two lines \\# heading &lt;script&gt;alert\\(1\\)&lt;/script&gt; a\\|b "
                           "\\[link\\]\\(x\\)")


def test_card_escapes_labels_and_the_dataset_name(session, dataset_with):
    rows = [{"input": f"q {i}", "output": "a", "label": HOSTILE if i % 2 else "# plain"} for i in range(20)]
    dataset, _ = dataset_with(rows, name="<b>name</b>\n# not a heading", task_type="classification")
    made = create_export(session, dataset.id, ExportParams(exclude_checks=[]), get_settings())
    card = (export_folder(get_settings(), made) / "README.md").read_text()
    front, body = card.split("\n---\n", 1)
    assert 'pretty_name: "<b>name</b>\\n# not a heading"' in front  # a quoted YAML scalar: one line, plain text
    assert "<script>" not in body and "<b>" not in body
    assert "\n# &lt;b&gt;name&lt;/b&gt; \\# not a heading\n" in card
    table = [line for line in card.splitlines() if line.startswith("| ") and "heading" in line]
    (row,) = table  # the label's row is one line with the table's five cells
    assert row.count(" | ") == 4 and "a\\|b" in row
    assert "| \\# plain |" in card
