"""ttrl_kit.core.schema: one builder from a mapping to a frozen settings dataclass, one-line errors."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pytest

from ttrl_kit import ConfigError, FieldError, build, setting
from ttrl_kit.core.schema import check, describe


@dataclass(frozen=True)
class Inner:
    rate: float = setting(0.5, help="A rate.", gt=0, le=1)
    mode: str = setting("a", help="A mode.", choices=("a", "b", "c"))


@dataclass(frozen=True)
class Outer:
    name: str = setting(help="Required.", nonempty="a short name")
    count: int = setting(1, help="A count.", ge=1, note="one at least")
    flag: bool = setting(False, help="A flag.")
    limit: int | None = setting(None, help="Optional bound.", ge=0)
    inner: Inner = setting(help="A nested section.", default_factory=Inner)
    items: tuple[Inner, ...] = setting((), help="A list of sections.")
    words: tuple[str, ...] = setting((), help="Strings.")

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit > self.count:
            raise FieldError("limit", f"{self.limit} > count={self.count}")


def err(data, **kw) -> str:
    with pytest.raises(ConfigError) as exc:
        build(Outer, data, "f.yaml", **kw)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("f.yaml: "), msg
    return msg


def test_builds_a_frozen_instance_with_defaults_and_conversions():
    o = build(Outer, {"name": "x", "inner": {"rate": 1}, "items": [{"mode": "b"}], "words": ["p"]}, "f.yaml")
    assert o.inner == Inner(rate=1.0) and isinstance(o.inner.rate, float)
    assert o.items == (Inner(mode="b"),) and o.words == ("p",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.count = 2  # type: ignore[misc]  # the point: frozen


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"name": "x", "cuont": 2}, "f.yaml: field 'cuont': unknown key (did you mean 'count'?); known: count, flag"),
        ({"name": "x", "inner": {"rat": 2}}, "field 'inner.rat': unknown key (did you mean 'rate'?)"),
        ({}, "field 'name': required (a short name)"),
        ({"name": "  "}, "field 'name': required (a short name)"),
        ({"name": "x", "count": True}, "field 'count': expected an integer, got True"),
        ({"name": "x", "count": 0}, "field 'count': expected >= 1 (one at least), got 0"),
        ({"name": "x", "flag": "yes"}, "field 'flag': expected true/false, got 'yes'"),
        ({"name": "x", "inner": {"rate": math.nan}}, "field 'inner.rate': expected a finite number, got nan"),
        ({"name": "x", "inner": {"rate": math.inf}}, "field 'inner.rate': expected a finite number"),
        ({"name": "x", "inner": {"rate": 1.5}}, "field 'inner.rate': expected in (0, 1], got 1.5"),
        ({"name": "x", "inner": {"mode": "z"}}, "field 'inner.mode': expected one of a, b, c, got 'z'"),
        ({"name": "x", "inner": None}, "field 'inner': expected a mapping, got null"),
        ({"name": "x", "inner": [1]}, "field 'inner': expected a mapping, got list"),
        ({"name": "x", "items": [{}, {"rate": 0}]}, "field 'items[1].rate': expected in (0, 1], got 0"),
        ({"name": "x", "words": ["a", 3]}, "field 'words[1]': expected a string, got 3"),
        ({"name": "x", "limit": "3"}, "field 'limit': expected an integer or null, got '3'"),
        ({"name": "x", "limit": 5}, "field 'limit': 5 > count=1"),
    ],
)
def test_errors_are_one_line_naming_file_and_field(data, expected):
    assert expected in err(data)


def test_a_section_prefix_and_the_option_noun():
    assert "f.yaml: field 'run.count'" in err({"name": "x", "count": 0}, prefix="run.")
    with pytest.raises(ConfigError) as exc:
        build(Outer, {"name": "x", "flagg": 1}, "estimator 'e'", noun="option")
    assert str(exc.value).startswith("estimator 'e': unknown option 'flagg' (did you mean 'flag'?); known options:")


def test_strings_from_a_command_line_may_be_booleans():
    assert build(Outer, {"name": "x", "flag": "true"}, "cli", strings=True).flag is True
    assert "expected true/false" in err({"name": "x", "flag": "true"})


def test_check_validates_direct_construction_without_a_file():
    @dataclass(frozen=True)
    class Checked:
        n: int = setting(1, help="n", ge=1)

        def __post_init__(self) -> None:
            check(self)

    with pytest.raises(FieldError, match="field 'n': expected >= 1, got 0"):
        Checked(n=0)
    with pytest.raises(ConfigError, match="^x.yaml: field 'n': expected >= 1, got 0$"):
        build(Checked, {"n": 0}, "x.yaml")


def test_every_settings_class_describes_every_field():
    """The field metadata is the one place a field is described."""
    from ttrl_kit.bench.config import BenchConfig
    from ttrl_kit.core.certainty import CertaintyVoteOptions, ConfidenceOptions, SignalRewardOptions
    from ttrl_kit.core.estimators import EntropyOptions
    from ttrl_kit.engines.embedded.config import RunConfig
    from ttrl_kit.engines.openrlhf.config import TTRLConfig
    from ttrl_text_cls.options import TextClsOptions

    classes = (RunConfig, BenchConfig, TTRLConfig, EntropyOptions, ConfidenceOptions, CertaintyVoteOptions,
               SignalRewardOptions, TextClsOptions)
    for cls in classes:
        rows = describe(cls)
        assert rows, cls
        missing = [name for name, _type, _default, help_ in rows if not help_.strip()]
        assert missing == [], f"{cls.__name__}: {missing}"
    names = [r[0] for r in describe(RunConfig)]
    assert "train.learning_rate" in names and "source" not in names
