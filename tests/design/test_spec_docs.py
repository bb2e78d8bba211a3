"""docs/design-spec.md documents every key of the format, and its complete example loads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from dbarchitect.design import spec as spec_module
from dbarchitect.design.load import load_spec

ROOT = Path(__file__).parent.parent.parent
DOC = ROOT / "docs" / "design-spec.md"


def test_every_key_is_documented() -> None:
    text = DOC.read_text()
    models = [
        m
        for m in vars(spec_module).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == spec_module.__name__
    ]
    assert len(models) >= 9
    missing = [
        f"{model.__name__}.{f.alias or name}"
        for model in models
        for name, f in model.model_fields.items()
        if f"`{f.alias or name}`" not in text
    ]
    assert missing == []


def test_complete_example_is_examples_saas(tmp_path: Path) -> None:
    text = DOC.read_text()
    section = text.split("## A complete example", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    path = tmp_path / "saas.yaml"
    path.write_text(block.group(1))
    assert load_spec(path).spec == load_spec(ROOT / "examples" / "saas.yaml").spec
