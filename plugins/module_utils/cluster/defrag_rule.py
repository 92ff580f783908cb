# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The defragmentation rule: whether a member's database file is worth defragmenting.

Standard library only, and no imports of the collection: the etcd role copies this very file onto
the members, where the defragmentation timer's script imports it with plain python3, so the module
and the timer read a rule the same way.

A rule compares what a member's status says about its database file:

* ``size``: the file's bytes (etcd's ``dbSize``); ``in_use``: the bytes in use (``dbSizeInUse``);
* ``free``: ``size - in_use``, what defragmenting gives back;
* ``free_percent``: ``free`` as a percentage of ``size`` (0 when ``size`` is 0);
* ``quota_percent``: ``size`` as a percentage of the backend quota (``--quota-backend-bytes``).

A comparison is ``quantity OP number[unit]``, OP one of ``> >= < <=``. Units are B, KB, MB, GB
(powers of 1000) and KiB, MiB, GiB (powers of 1024), written exactly so; a byte quantity without a
unit is in bytes; ``%`` may follow only the two percentages. ``and`` binds tighter than ``or``,
parentheses group, and ``always`` and ``never`` stand for themselves.
"""

import operator
import re

DEFAULT_RULE = "free_percent > 50 and free > 100MiB or quota_percent > 80"
# etcd's backend quota when --quota-backend-bytes is 0, its default
DEFAULT_QUOTA = 2 * 1024 ** 3

UNITS = {"B": 1, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
BYTE_QUANTITIES = ("size", "in_use", "free")
PERCENT_QUANTITIES = ("free_percent", "quota_percent")
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
QUANTITIES = BYTE_QUANTITIES + PERCENT_QUANTITIES
RULE_HELP = ("a rule looks like %r: quantities %s; operators %s; units %s (or %% after a percentage); and, or, "
             "parentheses, always, never"
             % (DEFAULT_RULE, ", ".join(QUANTITIES), " ".join(OPERATORS), ", ".join(UNITS)))

# A number takes the letters right after it as its unit (100MiB); '%' is a token of its own.
_TOKEN_RE = re.compile(
    r"(?P<number>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]*)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>>=|<=|>|<)|(?P<mark>[()%])"
)


class RuleError(ValueError):
    """A rule that cannot be read; the message names the rule, the problem, where it is, and what a
    rule looks like; ``problem`` is the problem alone."""

    def __init__(self, text, problem):
        self.problem = problem
        super().__init__("etcd_defrag_rule %r: %s; %s" % (text, problem, RULE_HELP))


class _Token:
    def __init__(self, kind, text, position, unit="", unit_position=None):
        self.kind, self.text, self.position = kind, text, position
        self.unit, self.unit_position = unit, unit_position

    def is_word(self, *words):
        return self.kind == "word" and self.text in words

    def describe(self):
        if self.kind == "end":
            return "end of the rule"
        text = self.text + self.unit
        # a runaway token (a pasted blob) is named by its start, to keep the message readable
        return repr(text if len(text) <= 24 else text[:20] + "...")


def _tokens(text):
    """The tokens of ``text``, positions counted from 1 as an editor shows them, then an end token."""
    tokens = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            tokens.append(_Token("end", "", at + 1))
            return tokens
        found = _TOKEN_RE.match(text, at)
        if found is None:
            raise RuleError(text, "unexpected %r at character %d" % (text[at], at + 1))
        if found.group("number") is not None:
            tokens.append(_Token("number", found.group("number"), at + 1, found.group("unit"), found.start("unit") + 1))
        elif found.group("mark") is not None:
            tokens.append(_Token(found.group("mark"), found.group("mark"), at + 1))
        else:
            kind = "word" if found.group("word") is not None else "op"
            tokens.append(_Token(kind, found.group(kind), at + 1))
        at = found.end()


class _Constant:
    def __init__(self, word):
        self.word = word

    def holds(self, figures, said):
        said.append(self.word)
        return self.word == "always"


class _Comparison:
    def __init__(self, quantity, op, threshold, shown, unit):
        # threshold in bytes or percent; shown as written; unit: what the quantity's value is shown in
        self.quantity, self.op, self.threshold, self.shown, self.unit = quantity, op, threshold, shown, unit

    def holds(self, figures, said):
        value = figures[self.quantity]
        result = OPERATORS[self.op](value, self.threshold)
        said.append("%s %s %s %s: %s" % (self.quantity, _value_text(value, self.unit), self.op, self.shown,
                                         "yes" if result else "no"))
        return result


def _value_text(value, unit):
    if unit == "B":
        return "%d B" % value
    if unit in UNITS:
        return "%.1f %s" % (value / UNITS[unit], unit)
    return "%.1f%s" % (value, unit)


class _All:
    def __init__(self, parts):
        self.parts = parts

    def holds(self, figures, said):
        return all(part.holds(figures, said) for part in self.parts)


class _Any(_All):
    def holds(self, figures, said):
        return any(part.holds(figures, said) for part in self.parts)


class Rule:
    """A rule read by ``parse``: ``text`` as written; ``decide`` evaluates it."""

    def __init__(self, text, tree):
        self.text, self.tree = text, tree

    def __str__(self):
        return self.text


class _Parser:
    """Recursive descent: rule := either end; either := both ('or' both)*; both := atom ('and' atom)*;
    atom := always | never | '(' either ')' | quantity OP number [unit]."""

    def __init__(self, text):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def fail(self, problem):
        raise RuleError(self.text, problem)

    def unexpected(self, token, expected):
        if token.kind == "end":
            self.fail("the rule ends at character %d where %s was expected" % (token.position, expected))
        self.fail("unexpected %s at character %d, expected %s" % (token.describe(), token.position, expected))

    def peek(self):
        return self.tokens[self.at]

    def take(self):
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def rule(self):
        if self.peek().kind == "end":
            self.fail("the rule is empty")
        tree = self.either()
        token = self.peek()
        if token.kind != "end":
            self.unexpected(token, "'and', 'or' or the end of the rule")
        return tree

    def either(self):
        return self.joined("or", self.both, _Any)

    def both(self):
        return self.joined("and", self.atom, _All)

    def joined(self, word, part, combine):
        """part (word part)*: a single part as it is, more than one combined."""
        parts = [part()]
        while self.peek().is_word(word):
            self.take()
            parts.append(part())
        return parts[0] if len(parts) == 1 else combine(parts)

    def atom(self):
        token = self.take()
        if token.kind == "(":
            tree = self.either()
            closing = self.take()
            if closing.kind == "end":
                self.fail("'(' at character %d is never closed" % token.position)
            if closing.kind != ")":
                self.unexpected(closing, "'and', 'or' or ')'")
            return tree
        if token.is_word("always", "never"):
            return _Constant(token.text)
        if token.kind == "word" and not token.is_word("and", "or"):
            if token.text not in QUANTITIES:
                self.fail("unknown quantity %r at character %d (quantities: %s)" % (
                    token.text, token.position, ", ".join(QUANTITIES)))
            return self.comparison(token.text)
        self.unexpected(token, "a quantity, always, never or '('")

    def comparison(self, quantity):
        op = self.take()
        if op.kind != "op":
            self.unexpected(op, "one of > >= < <= after %s" % quantity)
        number = self.take()
        if number.kind != "number":
            self.unexpected(number, "a number after %s %s" % (quantity, op.text))
        unit, unit_position = number.unit, number.unit_position
        following = self.peek()
        if not unit and (following.kind == "%" or (following.kind == "word" and following.text in UNITS)):
            self.take()  # a unit written apart from its number: 100 MiB, 50 %
            unit, unit_position = following.text, following.position
        if unit and unit != "%" and unit not in UNITS:
            self.fail("unknown unit %r at character %d (units, written exactly so: %s)" % (
                unit, unit_position, ", ".join(UNITS)))
        if quantity in PERCENT_QUANTITIES:
            if unit not in ("", "%"):
                self.fail("%r at character %d: %s is a percentage and takes no unit but %%" % (
                    unit, unit_position, quantity))
            return _Comparison(quantity, op.text, float(number.text), number.text + unit, unit)
        if unit == "%":
            self.fail("'%%' at character %d: %s is in bytes; only %s take %%" % (
                unit_position, quantity, " and ".join(PERCENT_QUANTITIES)))
        unit = unit or "B"
        return _Comparison(quantity, op.text, float(number.text) * UNITS[unit], "%s %s" % (number.text, unit), unit)


def parse(text):
    """The Rule that ``text`` writes; raises RuleError naming the problem and where it is."""
    if not isinstance(text, str):
        raise RuleError(text, "a rule is text, not %s" % type(text).__name__)
    return Rule(text, _Parser(text).rule())


def effective_quota(quota):
    """The backend quota a member works with: etcd takes 0 (or no setting) as DEFAULT_QUOTA."""
    return int(quota) if quota else DEFAULT_QUOTA


def quantities(size, in_use, quota):
    """Every quantity a rule can compare, from a member's dbSize and dbSizeInUse and its quota in bytes."""
    size, in_use = int(size or 0), int(in_use or 0)
    free = size - in_use
    return dict(size=size, in_use=in_use, free=free, free_percent=free * 100.0 / size if size else 0.0,
                quota_percent=size * 100.0 / effective_quota(quota))


def decide(rule, size, in_use, quota):
    """(defragment?, explanation): ``rule`` (a Rule) applied to one member's figures.

    The explanation lists each comparison made, in order, with the member's figure in the unit the
    rule was written in; ``and`` and ``or`` stop at the first comparison that settles them.
    """
    said = []
    verdict = rule.tree.holds(quantities(size, in_use, quota), said)
    return verdict, "%s -> %s" % (", ".join(said), "defragment" if verdict else "do not defragment")
