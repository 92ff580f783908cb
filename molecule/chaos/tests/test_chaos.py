"""The fault campaign (tests/chaos/run.py). Without CHAOS_SEED (`make test`) a fixed sample of
cases; `make chaos SEED=... CASES=... [CASE=...] [UNTIL=HH:MM]` sets CHAOS_SEED, CHAOS_CASES,
CHAOS_CASE and CHAOS_UNTIL, and keeps a journal of the seed's cases (.cache/chaos/): a campaign run
again goes on with the cases it does not record yet. Every case must keep every invariant; a
failing one prints the command that replays it alone."""

import calendar
import os
import time

import run

# The sample of `make test`: two cases (a roll while a member's host reboots, a removal while a
# member hears nothing from its peers), 2 to 5 minutes.
SAMPLE_SEED, SAMPLE_CASES = "sample", 2


def test_every_case_keeps_every_invariant():
    seed = os.environ.get("CHAOS_SEED") or SAMPLE_SEED
    count = int(os.environ.get("CHAOS_CASES") or (SAMPLE_CASES if seed == SAMPLE_SEED else 40))
    only = [int(n) for n in (os.environ.get("CHAOS_CASE") or "").split(",") if n] or None
    report = lambda line: print(line, flush=True)  # noqa: E731
    # CHAOS_BEFORE=SEED/CASE,...: regression cases replayed first, each as `make chaos SEED=...
    # CASE=...` runs it: its line goes into its seed's journal (a case of this campaign's seed then
    # counts in its table with the replay's figures).
    before = []
    for item in filter(None, (os.environ.get("CHAOS_BEFORE") or "").split(",")):
        other, number = item.split("/")
        before += run.main(other, int(number), int(number), report=report, journal=other != SAMPLE_SEED)[0]
    until = os.environ.get("CHAOS_UNTIL")
    if until:
        # HH:MM (UTC, today): no case starts after it; the next `make chaos` goes on from the journal.
        today = time.strftime("%Y-%m-%d ", time.gmtime())
        until = calendar.timegm(time.strptime(today + until, "%Y-%m-%d %H:%M"))
    results, table = run.main(seed, count, only, report=report, journal=seed != SAMPLE_SEED, until=until)
    print(table, flush=True)
    results = before + results
    # Kept after the scenario's destroy, for docs/chaos.md.
    os.makedirs(run.KEPT, exist_ok=True)
    with open(os.path.join(run.KEPT, "seed-%s.md" % seed), "w") as out:
        out.write(table + "\n")
    failed = [r for r in results if r["failures"]]
    assert results and not failed, "\n".join(
        "%s: %s; replay: %s" % (run.campaign.describe(r["case"]), "; ".join(r["failures"]),
                                run.campaign.replay(r["case"])) for r in failed) or "no case ran"
