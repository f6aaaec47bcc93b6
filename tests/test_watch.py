"""What the worker watches during a call: floating-point errors a submission cannot silence,
and arguments changed in place."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.course import Limits
from autograder.grading.program import Cell, Program
from autograder.sandbox import launch, watch
from autograder.student.checks import assert_no_overflow, assert_unchanged

from conftest import loaded

CODE = '''
import warnings
import numpy as np

def naive(z):
    return 1 / (1 + np.exp(-z))

def errstate_ignore(z):
    with np.errstate(all="ignore"):
        return 1 / (1 + np.exp(-z))

@np.errstate(over="ignore", invalid="ignore")
def decorated(z):
    return 1 / (1 + np.exp(-z))

def seterr_and_filters(z):
    np.seterr(all="ignore")
    np.seterrcall(None)
    warnings.filterwarnings("ignore")
    return 1 / (1 + np.exp(-z))

def stable(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

def raises_and_catches(z):
    try:
        with np.errstate(over="raise"):
            return np.exp(z)
    except FloatingPointError:
        return "caught"

def sgd_in_place(w, dw, state=None, lr=0.1):
    w -= lr * dw
    return w, state

def state_in_place(w, dw, state, lr=0.1):
    state["m"] *= 0.9
    return w - lr * dw, state

def appends(items):
    items.append(1)
    return len(items)

def sgd(w, dw, state=None, lr=0.1):
    return w - lr * dw, state
'''
Z = np.array([-800.0, 0.0, 800.0])


@pytest.fixture(scope="module")
def student():
    with loaded(Program([Cell("code", CODE)]), Limits(time_per_test=20), launch.detect_isolation()) as proxy:
        yield proxy


@pytest.fixture
def grader(student):
    return student._controls


@pytest.mark.parametrize("name", ["naive", "errstate_ignore", "decorated", "seterr_and_filters"])
def test_overflow_is_seen_however_it_is_silenced(student, grader, name):
    getattr(student, name)(Z)
    with pytest.raises(AssertionError, match="overflow"):
        assert_no_overflow(grader, name)


def test_a_stable_formula_raises_nothing(student, grader):
    assert np.allclose(student.stable(Z), [0.0, 0.5, 1.0])
    assert_no_overflow(grader, "stable")


def test_errors_asked_to_raise_still_raise(student, grader):
    assert student.raises_and_catches(Z) == "caught"
    assert grader.warnings == []


@pytest.mark.parametrize(("call", "changed"), [
    (lambda s: s.sgd_in_place(np.ones(3), np.ones(3)), ["w"]),
    (lambda s: s.sgd_in_place(np.ones(3), dw=np.ones(3), lr=0.5), ["w"]),
    (lambda s: s.state_in_place(np.ones(2), np.ones(2), {"m": np.ones(2)}), ["state['m']"]),
    (lambda s: s.appends([0]), ["items"]),
    (lambda s: s.sgd(np.ones(3), np.ones(3)), []),
])
def test_arguments_changed_in_place_are_named(student, grader, call, changed):
    call(student)
    assert grader.modified == changed
    if changed:
        with pytest.raises(AssertionError, match="in place"):
            assert_unchanged(grader, "the update rule")
    else:
        assert_unchanged(grader, "the update rule")


def test_arguments_are_named_by_each_function_even_one_redefined_under_the_same_name():
    namespace: dict = {}
    exec("def f(a, b):\n    pass\n", namespace)
    assert [name for name, _ in watch.argument_names(namespace["f"], [1, 2], {})] == ["a", "b"]
    exec("def f(x, *rest):\n    pass\n", namespace)
    assert [name for name, _ in watch.argument_names(namespace["f"], [1, 2], {})] == ["x", "rest[0]"]
