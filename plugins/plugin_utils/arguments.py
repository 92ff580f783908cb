# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The arguments of an action's task, validated against its module's argument spec on the controller,
as the module would validate them on the host."""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


def task_params(result, module, argument_spec, args):
    """``args`` validated against ``argument_spec``: the validated parameters; or None, with ``result``
    made the task's failure (``<module>: <errors>``, nothing changed)."""
    validated = ArgumentSpecValidator(argument_spec).validate(args)
    if validated.error_messages:
        result.update(failed=True, changed=False, msg="%s: %s" % (module, "; ".join(validated.error_messages)))
        return None
    return validated.validated_parameters
