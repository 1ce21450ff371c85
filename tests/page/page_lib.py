"""What every page test starts with: the server tests' helpers on the path,
and a fresh work folder (the current one) with a place for screenshots."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "serve"))


def work_dir(argv):
    """(PTAG, WORK, SHOTS) from `test.py PTAG WORK`; WORK made empty and entered."""
    from serve_lib import fresh_dir
    work = fresh_dir(argv[2])
    return argv[1], work, os.path.join(work, "screenshots")
