import os
import sys

ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
sys.path[:0] = [os.path.join(ROOT, "molecule", "shared", "tests"), os.path.join(ROOT, "tests", "chaos")]
