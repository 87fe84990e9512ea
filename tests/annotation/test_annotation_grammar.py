"""The static parser: every field in both spellings, the HPO annotations, and each error as one
line naming `file:line`, the field and what is valid."""

from __future__ import annotations

import textwrap

import pytest

from archsearch.annotation import AnnotationError
from archsearch.annotation.grammar import parse_module
from archsearch.annotation.records import FunctionChoice, MutableLayers, PlainCall, Variable


def parse(source: str) -> tuple[object, ...]:
    return parse_module(textwrap.dedent(source), "net.py", "net").annotations


def layers(source: str) -> list[object]:
    (block,) = parse(source)
    assert isinstance(block, MutableLayers)
    return list(block.layers)


def test_nni_spelling_every_field() -> None:
    (layer,) = layers(
        '''
        x = 1
        """@nni.mutable_layers(
        {
            layer_choice: [conv(ch=128), conv(ch = 256), pool()],
            fixed_inputs: [out4],
            optional_inputs: [out1, layers[-1], out3],
            optional_input_size: [1, 3],
            layer_output: layer_out
        })"""
        '''
    )
    assert [c.key for c in layer.candidates] == ["conv(ch=128)", "conv(ch=256)", "pool()"]
    assert layer.candidates[1].func == "conv" and layer.candidates[1].kwargs == (("ch", "256"),)
    assert layer.fixed_inputs == ("out4",)
    assert layer.optional_inputs == ("out1", "layers[-1]", "out3")
    assert layer.size == (1, 3) and layer.output == "layer_out" and layer.line == 4
    assert layer.aggregate is None and layer.post_process is None


def test_seed_004_spelling_every_field() -> None:
    first, second = layers(
        '''
        """@nni.mutable_layer
        {
            layer_choice: [conv3, conv5(), sep.conv],
            input_candidates: [out1, out2],
            input_num: 1,
            input_aggregate: concat,
            post_process: reshape(dim=2),
            layer_output: out3
        }
        {layer_choice: [pool()], fixed_inputs: [out3], layer_output: out4}"""
        '''
    )
    assert [c.key for c in first.candidates] == ["conv3", "conv5()", "sep.conv"]
    assert first.optional_inputs == ("out1", "out2") and first.size == (1, 1)
    assert first.aggregate is not None and first.aggregate.func == "concat"
    assert first.post_process is not None and first.post_process.kwargs == (("dim", "2"),)
    assert second.fixed_inputs == ("out3",) and second.size == (0, 0) and second.line == 11


def test_braces_inside_strings_do_not_split_seed_groups() -> None:
    text = "@nni.mutable_layer {layer_choice: [fmt(s='}{')], layer_output: y}  # {\n"
    text += "{layer_choice: [fmt(s='{')], layer_output: z}"
    (block,) = parse_module(f"x = 1\n{text!r}\n", "net.py", "net").annotations
    assert isinstance(block, MutableLayers)
    first, second = block.layers
    assert first.candidates[0].key == "fmt(s='}{')" and second.output == "z"


def test_quote_styles_string_keys_and_plain_strings() -> None:
    notes = parse(
        """
        '''I'm a doc string'''
        # '''@nni.report_final_result(commented_out)'''
        '@nni.mutable_layers({"layer_choice": [a()], "layer_output": y})'
        "@nni.report_intermediate_result(loss)"
        '''@nni.get_next_parameter()'''
        """
    )
    assert [type(n).__name__ for n in notes] == ["MutableLayers", "PlainCall", "PlainCall"]
    assert isinstance(notes[1], PlainCall) and notes[1].args == "loss"


def test_hpo_annotations() -> None:
    notes = parse(
        '''
        class Net:
            def __init__(self, d):
                """@nni.variable(nni.choice(2, 3, 5 * 6, 'relu', None), name=self.size)"""
                self.size = 3
                """@nni.variable(nni.randint(4))"""
                d["depth"] = 1
                """@nni.variable(nni.randint(2, 5), name=width)"""
                width: int = 2
                """@nni.function_choice(max_pool(h, 2), avg_pool(h, 2), name=pool)"""
                h = max_pool(h, 2) + avg_pool(h,
                    2)
                """@nni.report_final_result(acc)"""
        '''
    )
    size, depth, width, pool, report = notes
    assert isinstance(size, Variable) and size.name == "self.size" and size.func == "choice"
    assert size.values == (2, 3, "5 * 6", "relu", None)
    assert size.value_span.line == 5
    assert isinstance(depth, Variable) and depth.name == "d['depth']" and depth.values == (0, 4)
    assert isinstance(width, Variable) and width.values == (2, 5)
    assert isinstance(pool, FunctionChoice) and pool.name == "pool"
    assert [(s.line, s.end_line, i) for s, i in pool.sites] == [(11, 11, 0), (11, 12, 1)]
    assert isinstance(report, PlainCall) and report.func == "report_final_result"


def test_continuous_types_are_read() -> None:
    (note,) = parse('"""@nni.variable(nni.qloguniform(1.2, 3, 4.5), name=lr)"""\nlr = 0.1\n')
    assert isinstance(note, Variable) and note.values == (1.2, 3, 4.5)


ERRORS = [
    ("{layer_choice: [a()], layer_output: y, colour: red}", 2, "unknown field 'colour'"),
    ("{layer_choice: [a()]}", 2, "needs the field layer_output"),
    ("{layer_output: y}", 2, "needs the field layer_choice"),
    ("{layer_choice: [conv(16)], layer_output: y}", 2, "positional argument"),
    ("{layer_choice: [a(**k)], layer_output: y}", 2, r"\*\*kwargs"),
    ("{layer_choice: [1], layer_output: y}", 2, "must be function calls"),
    ("{layer_choice: [], layer_output: y}", 2, "at least one candidate"),
    ("{layer_choice: a(), layer_output: y}", 2, "must be a list"),
    ("{layer_choice: [a(), a()], layer_output: y}", 2, "more than once"),
    ("{layer_choice: [a()], layer_output: self.y}", 2, "plain variable name"),
    ("{layer_choice: [a()], optional_inputs: [x, z], layer_output: y}", 2, "optional_input_size"),
    (
        "{layer_choice: [a()], optional_inputs: [x], optional_input_size: 2, layer_output: y}",
        2,
        r"optional_input_size 2 does not fit 1 optional_inputs: an int 0..1",
    ),
    (
        "{layer_choice: [a()], optional_inputs: [x], input_num: [1, 0], layer_output: y}",
        2,
        "does not fit",
    ),
    (
        "{layer_choice: [a()], optional_inputs: [x], optional_input_size: 'one', layer_output: y}",
        2,
        "must be an int",
    ),
    (
        "{layer_choice: [a()], optional_inputs: [x], input_candidates: [z], layer_output: y}",
        2,
        r"input_candidates \(= optional_inputs\) is given twice",
    ),
    (
        "{layer_choice: [a()], layer_output: y}\n{layer_choice: [a()] layer_output: z}",
        3,
        "cannot parse the annotation",
    ),
]


@pytest.mark.parametrize(("layer", "line", "message"), ERRORS)
def test_layer_errors_name_file_line_and_field(layer: str, line: int, message: str) -> None:
    source = f'x = 1\n"""@nni.mutable_layers({layer})"""\n'
    with pytest.raises(AnnotationError, match=message) as info:
        parse_module(source, "net.py", "net")
    assert str(info.value).startswith(f"net.py:{line}: ") and "\n" not in str(info.value)


OTHER_ERRORS = [
    ('"""@nni.mutable_layer {layer_choice: [a()], layer_output: y} z"""', 1, "groups"),
    ('"""@nni.mutable_layer {layer_choice: [a()], layer_output: y"""', 1, "unbalanced"),
    ('"""@nni.mutable_layer"""', 1, "groups"),
    ('"""@nni.training_update(tf=tf, session=s)"""', 1, "TensorFlow"),
    ('"""@nni.dynamic(x)"""', 1, "unknown annotation @nni.dynamic; valid: @nni.mutable_layers"),
    ('"""@nni.mutable_layers(layer_choice=[a()])"""', 1, r"one \{\.\.\.\} dict per layer"),
    ('"""@nni.mutable_layers([a()])"""', 1, "is a {field: value} dict"),
    ('"""@nni.mutable_layers("""', 1, "cannot parse"),
    ('"""@nni.variable(nni.choice(1, 2), name=x)"""\ny = 1', 1, "differs from the assigned"),
    ('"""@nni.variable(nni.choice(1, 2), name=x)"""\nprint(x)', 2, "followed by an assignment"),
    ('"""@nni.variable(nni.choice(1, 2), name=x)"""', 1, "followed by an assignment"),
    ('"""@nni.variable(nni.choice(*opts), name=x)"""\nx = 1', 1, "written out"),
    ('"""@nni.variable(nni.choice(1, 1.0), name=x)"""\nx = 1', 1, "repeats an option"),
    ('"""@nni.variable(nni.gauss(1, 2), name=x)"""\nx = 1', 1, "with <type> one of choice"),
    ('"""@nni.variable(nni.uniform(a, 2), name=x)"""\nx = 1', 1, "number literals"),
    ('"""@nni.variable(nni.randint(5, 2), name=x)"""\nx = 1', 1, "lower < upper"),
    ('"""@nni.variable(nni.choice(1), label=x)"""\nx = 1', 1, "unexpected keyword label="),
    ('"""@nni.variable(1, name=x)"""\nx = 1', 1, "takes one nni.<type>"),
    ('"""@nni.function_choice(f(x), g(x), name=h)"""\ny = k(x)', 1, "calls none of"),
    ('"""@nni.function_choice(f, g)"""\ny = f(x)', 1, "takes the candidate calls"),
    ('"""@nni.function_choice(f(x))"""', 1, "must be followed by a statement"),
    ("def f(:\n    pass", 1, "not valid Python"),
]


@pytest.mark.parametrize(("source", "line", "message"), OTHER_ERRORS)
def test_other_errors_are_one_line(source: str, line: int, message: str) -> None:
    with pytest.raises(AnnotationError, match=message) as info:
        parse_module(source + "\n", "net.py", "net")
    assert str(info.value).startswith(f"net.py:{line}: ") and "\n" not in str(info.value)


def test_no_malformed_annotation_escapes_as_another_exception() -> None:
    # P1: NNI reported every parse error as an AttributeError. Mangle a valid annotation at
    # every position; each result parses or fails with an AnnotationError.
    valid = (
        "{layer_choice: [conv(ch=1), pool()], fixed_inputs: [a], optional_inputs: [b, c], "
        "optional_input_size: [0, 2], layer_output: y, input_aggregate: cat, post_process: p}"
    )
    for i in range(len(valid)):
        for mangled in (valid[:i] + valid[i + 1 :], valid[:i] + "(" + valid[i:]):
            for text in (f"@nni.mutable_layers({mangled})", f"@nni.mutable_layer {mangled}"):
                try:
                    parse_module(f"x = 1\n{text!r}\n", "net.py", "net")
                except AnnotationError as exc:
                    assert str(exc).startswith("net.py:2: ")
