"""The audit log reads in words: every action, object and field the code records has a name."""

from __future__ import annotations

import ast
from pathlib import Path

from otklik.identity import audit_labels as a
from tests.textscan import raw_codes

SRC = Path(__file__).resolve().parents[2] / "src" / "otklik"


def recorded() -> tuple[set[str], set[str], set[str]]:
    """Constant actions, objects and field names of every ``record_audit`` call in the code."""
    actions, entities, fields = set(), set(), set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name != "record_audit":
                continue
            args = node.args
            for i, into in ((2, actions), (3, entities)):
                if len(args) > i and isinstance(args[i], ast.Constant):
                    into.add(args[i].value)
            for arg in args[5:7]:
                if isinstance(arg, ast.Dict):
                    fields |= {k.value for k in arg.keys if isinstance(k, ast.Constant)}
    return actions, entities, fields


def test_every_recorded_code_has_a_russian_name() -> None:
    actions, entities, fields = recorded()
    assert actions
    assert entities
    assert fields
    assert actions - set(a.ACTIONS) == set()
    assert entities - set(a.ENTITIES) == set()
    assert fields - set(a.FIELDS) == set()


def test_the_diff_shows_fields_and_values_in_words() -> None:
    # the example: the operator linked to a source (the old number was empty)
    rows = a.changes({"source_id": None}, {"source": "mis-16"})
    assert [(c.field, c.before, c.after) for c in rows] == [("Источник", "—", "mis-16")]
    rows = a.changes({"is_active": True, "name": "МИС"}, {"is_active": False, "name": "МИС"})
    assert [(c.field, c.before, c.after) for c in rows] == [("Активен", "да", "нет")]
    rows = a.changes(None, {"role": "is_operator", "scope": "region", "weights": {"gap": 0.25}})
    text = " ".join(f"{c.field} {c.before} {c.after}" for c in rows)
    assert "Оператор информационной системы" in text
    assert "субъект РФ" in text
    assert "0,25" in text
    assert raw_codes(text) == [], text


def test_unknown_codes_never_show_raw() -> None:
    assert a.action_label("something_new") == "Действие"
    assert a.entity_label("some_table") == "Объект"
    assert a.field_label("some_column") == a.OTHER_FIELD
