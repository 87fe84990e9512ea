"""LayerChoice: candidates as a list or dict, container behaviour, errors, nesting."""

from __future__ import annotations

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.space import InvalidArchitectureError, LayerChoiceDim


def three_linears() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [nn.Linear(4, 4), nn.Linear(4, 4, bias=False), nn.Identity()]


# --- construction and reading -------------------------------------------------------------------


def test_list_candidates_are_named_by_position() -> None:
    candidates = three_linears()
    lc = nn.LayerChoice(candidates)
    assert lc.names == ["0", "1", "2"]
    assert len(lc) == 3
    assert list(lc) == candidates
    assert [lc[i] for i in range(3)] == candidates


def test_dict_candidates_keep_their_names_and_order() -> None:
    conv, pool, skip = nn.Conv2d(2, 2, 3, padding=1), nn.MaxPool2d(3, 1, 1), nn.Identity()
    lc = nn.LayerChoice({"conv": conv, "pool": pool, "skip": skip})
    assert lc.names == ["conv", "pool", "skip"]
    assert len(lc) == 3
    assert list(lc) == [conv, pool, skip]
    assert lc["pool"] is pool
    assert lc[0] is conv
    assert lc[2] is skip


def test_index_by_negative_int_name_and_slice() -> None:
    a, b, c = three_linears()
    lc = nn.LayerChoice({"a": a, "b": b, "c": c})
    assert lc[-1] is c
    assert lc[-3] is a
    assert lc["b"] is b
    assert lc[1:] == [b, c]
    assert lc[::2] == [a, c]
    assert lc[:0] == []


def test_candidates_are_registered_submodules() -> None:
    a, b, c = three_linears()
    lc = nn.LayerChoice([a, b, c])
    expected = sum(p.numel() for m in (a, b, c) for p in m.parameters())
    assert sum(p.numel() for p in lc.parameters()) == expected == 4 * 4 + 4 + 4 * 4
    assert set(lc.state_dict()) == {"0.weight", "0.bias", "1.weight"}


def test_standalone_forward_runs_the_first_candidate() -> None:
    a, b, c = three_linears()
    lc = nn.LayerChoice({"b": b, "a": a, "c": c})
    x = torch.randn(3, 4)
    torch.testing.assert_close(lc(x), x @ b.weight.T)


def test_forward_passes_positional_and_keyword_arguments() -> None:
    class Add(torch.nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor, *, scale: float = 1.0) -> torch.Tensor:
            return (x + y) * scale

    lc = nn.LayerChoice([Add(), nn.Bilinear(2, 2, 2)])
    x, y = torch.ones(2), torch.full((2,), 2.0)
    torch.testing.assert_close(lc(x, y, scale=2.0), torch.full((2,), 6.0))


# --- replacing and deleting ---------------------------------------------------------------------


def test_replace_candidate_by_index_keeps_name_and_position() -> None:
    a, b, c = three_linears()
    lc = nn.LayerChoice({"a": a, "b": b, "c": c})
    new = nn.Tanh()
    lc[1] = new
    assert lc.names == ["a", "b", "c"]
    assert lc["b"] is new
    lc[-1] = nn.ReLU()
    assert isinstance(lc["c"], torch.nn.ReLU)
    assert len(lc) == 3


def test_replace_candidate_by_name_and_add_new_name() -> None:
    a, b, _ = three_linears()
    lc = nn.LayerChoice({"a": a, "b": b})
    lc["a"] = nn.Sigmoid()
    assert lc.names == ["a", "b"]
    assert isinstance(lc[0], torch.nn.Sigmoid)
    lc["z"] = nn.Tanh()
    assert lc.names == ["a", "b", "z"]
    assert isinstance(lc[-1], torch.nn.Tanh)
    # The search space follows the edited candidates.
    dim = archsearch.search_space(lc)["root"]
    assert dim == LayerChoiceDim("root", ("a", "b", "z"))


def test_replacing_the_first_candidate_changes_standalone_output() -> None:
    lc = nn.LayerChoice([nn.ReLU(), nn.Identity()])
    lc[0] = nn.Tanh()
    x = torch.tensor([-1.0, 0.5])
    torch.testing.assert_close(lc(x), torch.tanh(x))


def test_delete_by_index_name_and_slice() -> None:
    mods = {k: nn.Identity() for k in "abcde"}
    lc = nn.LayerChoice(mods)
    del lc[0]
    assert lc.names == ["b", "c", "d", "e"]
    del lc["d"]
    assert lc.names == ["b", "c", "e"]
    del lc[-1]
    assert lc.names == ["b", "c"]
    lc["f"] = nn.Identity()
    del lc[:2]
    assert lc.names == ["f"]
    assert len(lc) == 1
    assert lc[0] is lc["f"]


def test_deleting_the_first_candidate_makes_the_next_one_run() -> None:
    lc = nn.LayerChoice({"relu": nn.ReLU(), "neg": nn.Hardtanh(-0.5, 0.5)})
    del lc["relu"]
    x = torch.tensor([-2.0, 0.25, 3.0])
    torch.testing.assert_close(lc(x), torch.tensor([-0.5, 0.25, 0.5]))


def test_cannot_delete_every_candidate() -> None:
    lc = nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
    with pytest.raises(ValueError, match="act"):
        del lc[:]
    del lc[0]
    with pytest.raises(ValueError):
        del lc[0]
    assert len(lc) == 1


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [[], {}, ()])
def test_empty_candidates_raise(empty: object) -> None:
    with pytest.raises(ValueError, match="at least one candidate"):
        nn.LayerChoice(empty)  # type: ignore[arg-type]


def test_non_module_candidate_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"'1'.*int"):
        nn.LayerChoice([nn.ReLU(), 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="'act'"):
        nn.LayerChoice({"ok": nn.ReLU(), "act": torch.relu})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        nn.LayerChoice([nn.ReLU])  # a class, not an instance  # type: ignore[list-item]


@pytest.mark.parametrize("index", [3, -4, 100])
def test_bad_index_raises_index_error(index: int) -> None:
    lc = nn.LayerChoice(three_linears(), label="op")
    with pytest.raises(IndexError, match="'op'"):
        lc[index]
    with pytest.raises(IndexError):
        lc[index] = nn.ReLU()
    with pytest.raises(IndexError):
        del lc[index]
    assert len(lc) == 3


def test_bad_name_raises_key_error_listing_names() -> None:
    lc = nn.LayerChoice({"conv": nn.Identity(), "pool": nn.Identity()})
    with pytest.raises(KeyError, match="conv"):
        lc["nope"]
    with pytest.raises(KeyError):
        del lc["nope"]
    assert lc.names == ["conv", "pool"]


def test_replacing_with_a_non_module_raises() -> None:
    lc = nn.LayerChoice([nn.ReLU(), nn.Tanh()])
    with pytest.raises(TypeError):
        lc[0] = "relu"  # type: ignore[assignment]


# --- nesting ------------------------------------------------------------------------------------


class Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pre = nn.Linear(4, 6)
        self.inner = nn.LayerChoice(
            {"wide": nn.Linear(6, 8), "act": nn.Sequential(nn.ReLU(), nn.Linear(6, 8))}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.pre(x))


class Outer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.outer = nn.LayerChoice([nn.Linear(4, 8), Inner()])
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.outer(x))


def test_nested_choice_labels_are_path_derived_and_both_in_space() -> None:
    model = Outer()
    space = archsearch.search_space(model)
    assert space.labels == ["outer", "outer.1.inner"]
    assert space["outer"] == LayerChoiceDim("outer", ("0", "1"))
    assert space["outer.1.inner"] == LayerChoiceDim("outer.1.inner", ("wide", "act"))
    assert space.size() == 4
    assert model.outer[1].inner.label == "outer.1.inner"


def test_nested_choice_shapes_for_every_architecture() -> None:
    model = Outer()
    x = torch.randn(5, 4)
    assert model(x).shape == (5, 2)
    space = archsearch.search_space(model)
    archs = list(space.grid())
    assert len(archs) == 4
    for arch in archs:
        fixed = archsearch.fix(model, arch)
        assert fixed(x).shape == (5, 2)


def test_nested_choice_fix_picks_inner_candidate_with_its_weights() -> None:
    model = Outer()
    fixed = archsearch.fix(model, {"outer": 1, "outer.1.inner": "act"}, inherit_weights=True)
    assert isinstance(fixed.outer, Inner)
    assert isinstance(fixed.outer.inner, torch.nn.Sequential)
    x = torch.randn(3, 4)
    inner = model.outer[1]
    expected = model.head(inner.inner["act"](inner.pre(x)))
    torch.testing.assert_close(fixed(x), expected)


def test_nested_choice_not_taken_is_dropped_but_still_required() -> None:
    model = Outer()
    fixed = archsearch.fix(model, {"outer": "0", "outer.1.inner": "wide"})
    assert type(fixed.outer) is torch.nn.Linear
    with pytest.raises(InvalidArchitectureError, match=r"outer\.1\.inner"):
        archsearch.fix(model, {"outer": "0"})


def test_nested_choice_standalone_uses_first_of_each() -> None:
    model = Outer()
    x = torch.randn(3, 4)
    torch.testing.assert_close(model(x), model.head(model.outer[0](x)))
    # Put the nested candidate first: its own first candidate runs.
    model.outer = nn.LayerChoice([model.outer[1], model.outer[0]])
    inner = model.outer[0]
    torch.testing.assert_close(model(x), model.head(inner.inner["wide"](inner.pre(x))))
