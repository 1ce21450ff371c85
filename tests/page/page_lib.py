"""What every page test starts with: the server tests' helpers on the path,
and a fresh work folder (the current one) with a place for screenshots."""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "serve"))


def work_dir(argv):
    """(PTAG, WORK, SHOTS) from `test.py PTAG WORK`; WORK made empty and entered."""
    ptag, work = argv[1], os.path.abspath(argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    return ptag, work, os.path.join(work, "screenshots")
