# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
#
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!
"""The one writer of the systemd units the roles install (the member's, its timers' and the
proxy's): sections and directives in, the unit's text out, values escaped as systemd.syntax and
systemd.unit read them, and the hardening directives those units share, defined once.
"""

# A directive whose key is this is a comment: its text, one "# " line per line.
COMMENT = "#"
# Where a command line given as several lines of words goes on (the proxy's long command line).
CONTINUATION = " \\\n    "

# What every service the roles write runs under, with its hardening on: no privileges to gain, the
# system read-only but for its ReadWritePaths=, no home directories, its own /tmp and no devices.
HARDENING = (("NoNewPrivileges", "true"), ("ProtectSystem", "strict"), ("ProtectHome", "true"),
             ("PrivateTmp", "true"), ("PrivateDevices", "true"))
# What a long-running server (the member, the proxy) runs under besides: it needs no kernel setting,
# capability, namespace or socket family beyond IP and local sockets. The timers' oneshot services
# have HARDENING only (their units have been written so since the timers came).
SERVER_HARDENING = (("ProtectKernelTunables", "true"), ("ProtectKernelModules", "true"), ("ProtectControlGroups", "true"),
                    ("RestrictSUIDSGID", "true"), ("RestrictNamespaces", "true"), ("LockPersonality", "true"),
                    ("CapabilityBoundingSet", ""), ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
                    ("SystemCallArchitectures", "native"))
# In a word of a command line or a path list, what makes systemd split or unescape it unless quoted.
QUOTED_CHARACTERS = " \t\"'\\"


class UnitError(ValueError):
    """A value a unit cannot hold as it is given (a newline would start another directive)."""


def comment(text):
    """A comment line (one per line of ``text``) among a section's directives."""
    return (COMMENT, text)


def hardening(writable=(), server=False):
    """The hardening directives, in the order the units have them: ``writable``, the
    ReadWritePaths= lines after ProtectSystem= (each a path, or a list of paths for one line; a
    path may begin with ``-``: no matter if it is missing); ``server``: with SERVER_HARDENING."""
    directives = list(HARDENING[:2]) + [("ReadWritePaths", paths) for paths in writable] + list(HARDENING[2:])
    return directives + list(SERVER_HARDENING if server else ())


def word(text):
    """One word of a command line or a path list: specifiers escaped (``%`` as ``%%``), and quoted
    as systemd.syntax reads quotes when it holds a space, a quote or a backslash (or is empty)."""
    text = _specifiers(text)
    if text and not any(char in QUOTED_CHARACTERS for char in text):
        return text
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _specifiers(text):
    text = str(text)
    if "\n" in text or "\r" in text:
        raise UnitError("a unit's value cannot hold a line break: %r" % text)
    return text.replace("%", "%%")


def _value(key, value):
    """A directive's value as the unit has it: text (a str or a number) with its specifiers
    escaped, true or false for a bool, a list of words on one line, or a list of lists of words, one
    line each, joined by line continuations."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(line, (list, tuple)) for line in value):
            return CONTINUATION.join(" ".join(word(item) for item in line) for line in value)
        return " ".join(word(item) for item in value)
    text = _specifiers(value)
    if text.endswith("\\"):
        # It would continue the directive on the next line.
        raise UnitError("%s=%s: a unit's value cannot end with a backslash" % (key, text))
    return text


def _line(key, value):
    if key == COMMENT:
        return "\n".join("# " + line if line else "#" for line in str(value).split("\n"))
    return "%s=%s" % (key, _value(key, value))


def unit_text(sections, header=""):
    """A unit's text: ``header`` (comment lines, like ``ansible_managed | comment``), then each of
    ``sections`` (pairs of a section's name and its directives, in order), a blank line between
    them. A directive is a pair of a key and its value (see _value); None leaves it out; a value
    given as ``""`` writes ``Key=`` (which resets a list, like CapabilityBoundingSet=); comment()
    gives a comment line."""
    parts = []
    for name, directives in sections:
        lines = ["[%s]" % name] + [_line(key, value) for key, value in directives if value is not None]
        parts.append("\n".join(lines) + "\n")
    return ("%s\n" % header if header else "") + "\n".join(parts)
