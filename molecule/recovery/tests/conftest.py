import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared", "tests"))

# The verifier writes its figures here; Molecule removes the ephemeral directory on destroy, so
# they are also printed at the end of the test run.
FIGURES = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "recovery-figures.txt")


def pytest_terminal_summary(terminalreporter):
    if os.path.exists(FIGURES):
        terminalreporter.section("recovery figures")
        with open(FIGURES) as figures:
            terminalreporter.write(figures.read())
