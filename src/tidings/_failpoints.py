"""Named crash points for the crash tests: `TIDINGS_FAILPOINT=name` (or `name:N`, the Nth
time it is reached) kills the process with SIGKILL when execution reaches `failpoint(name)`:
no cleanup, no flush, as a power cut or the OOM killer would. Unset, a failpoint costs one
string comparison."""

from __future__ import annotations

import os
import signal

_NAME, _, _NTH = os.environ.get("TIDINGS_FAILPOINT", "").partition(":")
_hits = 0


def failpoint(name: str) -> None:
    global _hits
    if _NAME and name == _NAME:
        _hits += 1
        if _hits >= int(_NTH or 1):
            os.kill(os.getpid(), signal.SIGKILL)
