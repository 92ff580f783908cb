"""etcd_defrag_rule: the rule language deciding whether a member's database is defragmented, its
explanations and every message for a rule that cannot be read."""

import ast
import shutil
import subprocess
import sys

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.cluster import defrag_rule as dr

MiB = 1024 ** 2
GiB = 1024 ** 3


def decide(text, size, in_use, quota=0):
    return dr.decide(dr.parse(text), size, in_use, quota)


def holds(text, size, in_use, quota=0):
    return decide(text, size, in_use, quota)[0]


# -- quantities --------------------------------------------------------------------------------


def test_quantities_from_the_status_figures():
    assert dr.quantities(400 * MiB, 100 * MiB, 0) == dict(
        size=400 * MiB, in_use=100 * MiB, free=300 * MiB, free_percent=75.0, quota_percent=400 * MiB * 100.0 / GiB / 2)
    assert dr.quantities(GiB, GiB, GiB)["quota_percent"] == 100.0


def test_zero_size_has_no_free_percent():
    assert dr.quantities(0, 0, 0) == dict(size=0, in_use=0, free=0, free_percent=0.0, quota_percent=0.0)
    assert decide("free_percent >= 0", 0, 0) == (True, "free_percent 0.0 >= 0: yes -> defragment")
    assert holds("free_percent > 0", 0, 0) is False


def test_quota_zero_is_etcds_default_of_2_gib():
    assert dr.DEFAULT_QUOTA == 2 * 1024 ** 3
    assert dr.effective_quota(0) == dr.effective_quota(None) == 2 * GiB
    assert dr.effective_quota(8 * GiB) == 8 * GiB
    assert decide("quota_percent > 80", int(1.7 * GiB), GiB) == (
        True, "quota_percent 85.0 > 80: yes -> defragment")
    assert holds("quota_percent > 80", int(1.7 * GiB), GiB, quota=4 * GiB) is False


# -- comparisons and units ---------------------------------------------------------------------


@pytest.mark.parametrize("op, below, equal, above", [
    (">", False, False, True),
    (">=", False, True, True),
    ("<", True, False, False),
    ("<=", True, True, False),
])
def test_every_operator(op, below, equal, above):
    rule = "free %s 100" % op
    assert [holds(rule, size, 0) for size in (99, 100, 101)] == [below, equal, above]


@pytest.mark.parametrize("threshold, factor", [
    ("1B", 1), ("1KB", 1000), ("1MB", 1000 ** 2), ("1GB", 1000 ** 3),
    ("1KiB", 1024), ("1MiB", MiB), ("1GiB", GiB), ("1", 1), ("1.5GiB", 1.5 * GiB),
])
def test_units(threshold, factor):
    assert holds("size >= " + threshold, int(factor), 0) is True
    assert holds("size >= " + threshold, int(factor) - 1, 0) is False


def test_a_unit_may_stand_apart_from_its_number():
    assert decide("free > 100 MiB", 150 * MiB, 0) == (True, "free 150.0 MiB > 100 MiB: yes -> defragment")
    assert decide("free_percent > 50 %", 100, 20) == (True, "free_percent 80.0% > 50%: yes -> defragment")


def test_percent_sign_on_percentages():
    assert decide("free_percent > 50%", 100, 20) == (True, "free_percent 80.0% > 50%: yes -> defragment")
    assert holds("quota_percent <= 50%", GiB, 0) is True


def test_byte_quantities_are_shown_in_the_unit_of_the_threshold():
    assert decide("in_use < 2GB", 5 * GiB, 1500 * 1000 ** 2) == (True, "in_use 1.5 GB < 2 GB: yes -> defragment")
    assert decide("size > 4096", 4000, 0) == (False, "size 4000 B > 4096 B: no -> do not defragment")
    assert decide("free > 1KiB", 2048, 512) == (True, "free 1.5 KiB > 1 KiB: yes -> defragment")


# -- always, never, precedence, parentheses ----------------------------------------------------


def test_always_and_never():
    assert decide("always", 0, 0) == (True, "always -> defragment")
    assert decide("never", 10 * GiB, 0) == (False, "never -> do not defragment")


def test_default_rule():
    assert dr.DEFAULT_RULE == "free_percent > 50 and free > 100MiB or quota_percent > 80"
    assert decide(dr.DEFAULT_RULE, 400 * MiB, 150 * MiB) == (
        True, "free_percent 62.5 > 50: yes, free 250.0 MiB > 100 MiB: yes -> defragment")
    assert decide(dr.DEFAULT_RULE, 100 * MiB, 40 * MiB) == (
        False, "free_percent 60.0 > 50: yes, free 60.0 MiB > 100 MiB: no, quota_percent 4.9 > 80: no "
               "-> do not defragment")
    assert decide(dr.DEFAULT_RULE, int(1.8 * GiB), int(1.7 * GiB)) == (
        True, "free_percent 5.6 > 50: no, quota_percent 90.0 > 80: yes -> defragment")


def test_and_binds_tighter_than_or():
    # never and (never or always) would be false; (never and never) or always is true
    assert holds("never and never or always", 0, 0) is True
    assert holds("always or never and never", 0, 0) is True
    assert holds("never and always or never", 0, 0) is False


def test_parentheses_group():
    assert holds("never and (never or always)", 0, 0) is False
    assert holds("(always or never) and never", 0, 0) is False
    assert holds("((always))", 0, 0) is True
    assert decide("(free > 1 or size < 2) and in_use >= 3KB", 5000, 3000) == (
        True, "free 2000 B > 1 B: yes, in_use 3.0 KB >= 3 KB: yes -> defragment")


def test_evaluation_stops_where_the_answer_is_settled():
    assert decide("never and free > 1", 10, 0) == (False, "never -> do not defragment")
    assert decide("always or free > 1", 10, 0) == (True, "always -> defragment")


def test_a_rule_keeps_its_text():
    rule = dr.parse(" free>1 ")
    assert rule.text == str(rule) == " free>1 "


# -- rules that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize("text, problem", [
    ("free >> 5", "unexpected '>' at character 7, expected a number after free >"),
    ("", "the rule is empty"),
    ("   ", "the rule is empty"),
    ("free ! 3", "unexpected '!' at character 6"),
    ("free > -3", "unexpected '-' at character 8"),
    ("fre > 1", "unknown quantity 'fre' at character 1 (quantities: size, in_use, free, free_percent, quota_percent)"),
    ("and", "unexpected 'and' at character 1, expected a quantity, always, never or '('"),
    ("free > 1 or", "the rule ends at character 12 where a quantity, always, never or '(' was expected"),
    ("> 1", "unexpected '>' at character 1, expected a quantity, always, never or '('"),
    ("free", "the rule ends at character 5 where one of > >= < <= after free was expected"),
    ("free = 1", "unexpected '=' at character 6"),
    ("free is 1", "unexpected 'is' at character 6, expected one of > >= < <= after free"),
    ("free >", "the rule ends at character 7 where a number after free > was expected"),
    ("free > MiB", "unexpected 'MiB' at character 8, expected a number after free >"),
    ("free > 5mib", "unknown unit 'mib' at character 9 (units, written exactly so: B, KB, MB, GB, KiB, MiB, GiB)"),
    ("free > 5 mib", "unexpected 'mib' at character 10, expected 'and', 'or' or the end of the rule"),
    ("free > 5 %", "'%' at character 10: free is in bytes; only free_percent and quota_percent take %"),
    ("size > 5%", "'%' at character 9: size is in bytes; only free_percent and quota_percent take %"),
    ("free_percent > 5MiB", "'MiB' at character 17: free_percent is a percentage and takes no unit but %"),
    ("quota_percent > 5 B", "'B' at character 19: quota_percent is a percentage and takes no unit but %"),
    ("(free > 1", "'(' at character 1 is never closed"),
    ("(free > 1 free", "unexpected 'free' at character 11, expected 'and', 'or' or ')'"),
    ("free > 1)", "unexpected ')' at character 9, expected 'and', 'or' or the end of the rule"),
    ("free > 1 free > 2", "unexpected 'free' at character 10, expected 'and', 'or' or the end of the rule"),
    ("free > 1.5.2", "unexpected '.' at character 11"),
    ("Always", "unknown quantity 'Always' at character 1"),
    ("free > 1 AND size > 2", "unexpected 'AND' at character 10, expected 'and', 'or' or the end of the rule"),
])
def test_every_parse_error_names_the_problem_and_where(text, problem):
    with pytest.raises(dr.RuleError) as caught:
        dr.parse(text)
    assert str(caught.value).startswith("etcd_defrag_rule %r: %s" % (text, problem))
    assert str(caught.value).endswith("; " + dr.RULE_HELP)


def test_the_message_of_the_issue():
    with pytest.raises(dr.RuleError) as caught:
        dr.parse("free >> 5")
    assert str(caught.value) == (
        "etcd_defrag_rule 'free >> 5': unexpected '>' at character 7, expected a number after free >; a rule looks "
        "like 'free_percent > 50 and free > 100MiB or quota_percent > 80': quantities size, in_use, free, "
        "free_percent, quota_percent; operators > >= < <=; units B, KB, MB, GB, KiB, MiB, GiB (or % after a "
        "percentage); and, or, parentheses, always, never")


@pytest.mark.parametrize("value", [None, 5, ["free > 1"]])
def test_a_rule_must_be_text(value):
    with pytest.raises(dr.RuleError, match="a rule is text, not %s" % type(value).__name__):
        dr.parse(value)


def test_rule_error_is_a_value_error():
    assert issubclass(dr.RuleError, ValueError)


# -- the file the members import -----------------------------------------------------------------


def test_imports_nothing_but_the_standard_library():
    with open(dr.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_plain_python3_imports_a_copy_of_the_file(tmp_path):
    # -S: no site-packages, so nothing but the standard library can be imported
    shutil.copy(dr.__file__, tmp_path / "etcd_defrag_rule.py")
    script = ("import etcd_defrag_rule as r; "
              "print(r.decide(r.parse(r.DEFAULT_RULE), 400 * 1024 ** 2, 150 * 1024 ** 2, 0)[1])")
    out = subprocess.run([sys.executable, "-S", "-E", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert out == "free_percent 62.5 > 50: yes, free 250.0 MiB > 100 MiB: yes -> defragment\n"
