# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Action for raftops.etcd.etcd_lock_keeper: on the controller the keeper is started from this
process (plugin_utils/in_process.py). Run as a module, each of the role's two calls in a run paid
for packaging it and a new Python with its imports, about 0.3 s of CPU and 0.5 s each. Without pid
and holder, the keeper lives with this ansible-playbook run (plugin_utils/run_lock.py); with role,
the etcd role's options come from its variables (module_utils/lock/lock_keeper.py's role_options)."""

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.raftops.etcd.plugins.module_utils.lock.lock_keeper import (
    MODULE, ROLE_VARIABLES, argument_spec, role_options, start_keeper)
from ansible_collections.raftops.etcd.plugins.plugin_utils.in_process import InProcessAction
from ansible_collections.raftops.etcd.plugins.plugin_utils.run_lock import this_run


class ActionModule(InProcessAction):
    MODULE = MODULE

    def argument_spec(self):
        return argument_spec()

    def module_args(self, task_vars):
        args = dict(self._task.args)
        try:
            if args.get("role") is not None:
                role = ArgumentSpecValidator(argument_spec()["role"]["options"]).validate(args.pop("role"))
                if role.error_messages:
                    raise ValueError("role: %s" % "; ".join(role.error_messages))
                variables = {name: self._templar.template(task_vars[name]) for name in ROLE_VARIABLES}
                args = dict(role_options(role.validated_parameters, variables, task_vars.get("ansible_play_hosts") or []), **args)
            if not (args.get("pid") and args.get("holder")):
                run = this_run(self._templar.template(task_vars.get("ansible_play_name") or ""))
                args["pid"] = args.get("pid") or run["pid"]
                args["holder"] = args.get("holder") or run["holder"]
        except KeyError as exc:
            raise ValueError("the role's variable %s is not defined" % exc) from None
        except (TypeError, OSError, AnsibleError) as exc:
            raise ValueError(str(exc)) from None
        return args

    def run_here(self, params, check_mode):
        if check_mode:
            # As the module, which does not support check mode: it would start a process.
            return dict(skipped=True, changed=False, msg="%s starts a process: skipped in check mode" % MODULE)
        return start_keeper(params)
