"""Run a piece of Python written by a language model, without letting it touch anything.

    run_python(code, stdin="70\\n1.75\\n") -> SandboxResult(status, stdout, stderr, exit_code, ...)

Layers, from the outside in (any one of them is enough for the abuse cases in the tests):

1. A separate process: a fresh ``python -I -S -X utf8`` (isolated: no site-packages, no PYTHON*
   variables, no user folder), in its own session, with an empty environment and a new temporary
   folder as its working directory, deleted afterwards. A wall-clock timeout kills its whole group.
2. No network: a new network namespace (``unshare -n``: only a loopback that is down) when the
   system allows it; always, too, the audit hook below refuses to create sockets.
3. Kernel limits (``setrlimit``, set inside the child before the program runs, hard = soft so it
   cannot raise them): CPU seconds, address space (memory), size of any file written (stdout and
   stderr are files, so this caps the output too), open files, and no new processes (RLIMIT_NPROC
   = 0; when the lab runs as root the child first becomes ``nobody``, since root ignores it).
4. A Python audit hook (``sys.addaudithook``, cannot be removed once added) that refuses: open()
   outside the temporary folder (the standard library may be read), listing, changing, deleting or
   renaming anything outside it, sockets, subprocess / os.system / exec / spawn / fork / kill, and
   the modules that step around hooks (ctypes, _posixsubprocess, ...).

Audit hooks alone are not a security boundary (CPython says so); the process, namespace and
rlimits are. Together they stop the cases a classroom will meet: infinite loops, printing
gigabytes, fork bombs, huge allocations, sockets, reading the project's files.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

from ..errors import BadInput
from .validate import utf8

MAX_CODE_CHARS = 20_000
MAX_STDIN_CHARS = 10_000
MAX_CONCURRENT = 2  # sandboxes at once in one process: the other requests wait their turn
REFUSED = "[sandbox] refused:"  # how the audit hook's PermissionError starts
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one run may use. Checked ranges keep a web request from asking for more."""

    cpu_s: int = 2  # CPU seconds (RLIMIT_CPU): an infinite loop ends here
    wall_s: float = 5.0  # wall-clock seconds (sleep, waiting for input)
    memory_mb: int = 256  # address space (RLIMIT_AS)
    output_bytes: int = 64_000  # each of stdout, stderr and any file written (RLIMIT_FSIZE)

    def validated(self) -> "Limits":
        for name, lo, hi in (("cpu_s", 1, 10), ("wall_s", 0.5, 30), ("memory_mb", 64, 1024),
                             ("output_bytes", 1_000, 1_000_000)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise BadInput(f"Sandbox limit {name}={v} is outside the allowed range {lo}..{hi}.")
        return self


@dataclass
class SandboxResult:
    status: str  # ok | error | refused | timeout | cpu_limit | memory_limit | output_limit
    exit_code: int | None  # None when killed by the timeout
    stdout: str
    stderr: str
    seconds: float
    message: str  # one sentence for people (English; the web page translates the status)
    network: str  # how the network was cut: "namespace" (+ audit hook) or "audit-hook"
    limits: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


# --------------------------------------------------------------------------------------------
# The child's first lines: limits, identity, audit hook, then the program. Runs as `python -c`.

BOOT = r'''
import os, sys, resource
_tmp, _cpu, _mem, _fsize, _nobody = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
# What programs usually import, loaded now: after the switch to `nobody` the interpreter's folder
# may not be readable any more.
import traceback
for _m in ("math random statistics json re string datetime decimal fractions collections itertools "
           "functools operator textwrap time typing dataclasses enum heapq bisect copy io locale "
           "unicodedata csv pathlib shutil glob tempfile threading socket subprocess array struct "
           "calendar pprint numbers cmath hashlib base64 secrets uuid zoneinfo encodings.idna").split():
    try:
        __import__(_m)
    except ImportError:
        pass
for _lim, _v in ((resource.RLIMIT_CPU, _cpu), (resource.RLIMIT_AS, _mem), (resource.RLIMIT_FSIZE, _fsize),
                 (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(_lim, (_v, _v))
if _nobody:  # root ignores RLIMIT_NPROC: become nobody first
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no new process (nor thread)
_std = tuple(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_DENY_IMPORT = {"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters", "_testcapi",
                "_testinternalcapi", "cffi", "_socket"}
for _m in _DENY_IMPORT:  # loaded by the imports above: importing them again must go through the hook
    sys.modules.pop(_m, None)
_DENY = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
         "os.forkpty", "os.kill", "os.killpg", "os.setuid", "os.putenv", "ctypes.", "winreg.", "pty.",
         "resource.setrlimit", "resource.prlimit", "sys._current_frames", "signal.pthread_kill")
_PATH_EVENTS = {"os.listdir": 0, "os.scandir": 0, "os.chdir": 0, "os.remove": 0, "os.rmdir": 0,
                "os.mkdir": 0, "os.rename": (0, 1), "os.replace": (0, 1), "os.link": (0, 1),
                "os.symlink": (0, 1), "os.chmod": 0, "os.chown": 0, "os.truncate": 0, "os.utime": 0,
                "shutil.rmtree": 0, "shutil.copyfile": (0, 1), "shutil.move": (0, 1), "glob.glob": 0,
                "os.chflags": 0, "os.mkfifo": 0, "os.mknod": 0, "os.getxattr": 0, "os.listxattr": 0}

def _inside(p, root=_tmp):
    return p == root or p.startswith(root + os.sep)

def _real(p):
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    return os.path.realpath(os.path.join(os.getcwd(), os.fspath(p)))

def _refuse(what):
    raise PermissionError(f"[sandbox] refused: {what}")

def _hook(event, args, _busy=[False]):
    if _busy[0]:
        return
    _busy[0] = True
    try:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            real = _real(path)
            writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & _WRITE)
            if _inside(real) or (not writing and any(_inside(real, s) for s in _std)):
                return
            _refuse(f"open('{path}'): only files inside the temporary folder may be opened")
        if event == "import" and args[0] in _DENY_IMPORT:
            _refuse(f"import {args[0]}")
        if event.startswith(_DENY):
            _refuse(f"{event} (no network, no new processes)")
        which = _PATH_EVENTS.get(event)
        if which is not None:
            for i in (which if isinstance(which, tuple) else (which,)):
                p = args[i] if i < len(args) else None
                if p is None or isinstance(p, int):
                    continue
                if not _inside(_real(p)):
                    _refuse(f"{event}('{p}'): outside the temporary folder")
    finally:
        _busy[0] = False

os.chdir(_tmp)
with open("main.py", encoding="utf-8") as _f:
    _code = compile(_f.read(), "main.py", "exec")
sys.addaudithook(_hook)
sys.argv = ["main.py"]
try:
    exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
except SystemExit:
    raise
except BaseException as _e:  # the program's traceback, without the sandbox's own frames
    _tb = traceback.TracebackException(type(_e), _e, _e.__traceback__.tb_next)
    _tb.stack = traceback.StackSummary.from_list([f for f in _tb.stack if f.filename != "<string>"])
    sys.stderr.write("".join(_tb.format()))
    sys.exit(1)
'''


# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def network_isolation() -> list[str]:
    """The command prefix that gives the child its own, empty network namespace, or [] if none.

    Root may create one directly (``unshare -n``); another user needs a user namespace too
    (``unshare -rn``). Probed once per process.
    """
    exe = shutil.which("unshare")
    if not exe:
        return []
    for prefix in ([exe, "-n"], [exe, "-rn"]) if os.geteuid() == 0 else ([exe, "-rn"],):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=5).returncode == 0:
                return prefix
        except (OSError, subprocess.SubprocessError):
            pass
    return []


def python_executable() -> str:
    """The real interpreter (not a virtual environment's link to it): with -I -S, stdlib only."""
    return getattr(sys, "_base_executable", None) or sys.executable


_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


def run_python(code: str, stdin: str = "", limits: Limits = Limits(), audit: bool = True) -> SandboxResult:
    """Run ``code`` in the sandbox, feeding it ``stdin``; never raises for what the code does.

    ``audit=False`` leaves the audit hook out (tests use it to prove the other layers alone).
    """
    if not isinstance(code, str) or not code.strip():
        raise BadInput("There is no code to run: write or extract some Python first.")
    if len(code) > MAX_CODE_CHARS:
        raise BadInput(f"The code has {len(code)} characters; the sandbox accepts at most {MAX_CODE_CHARS}.")
    if len(stdin) > MAX_STDIN_CHARS:
        raise BadInput(f"The input has {len(stdin)} characters; the limit is {MAX_STDIN_CHARS}.")
    utf8(code, "code")
    utf8(stdin, "input")
    limits = limits.validated()
    with _slots:
        return _run(code, stdin, limits, audit)


def _run(code: str, stdin: str, limits: Limits, audit: bool) -> SandboxResult:
    as_root = os.geteuid() == 0
    outer = tempfile.mkdtemp(prefix="pizarra-sandbox-")  # holds stdout/stderr; the program's cwd inside
    work = os.path.join(outer, "work")
    os.mkdir(work)
    try:
        with open(os.path.join(work, "main.py"), "w", encoding="utf-8") as f:
            f.write(code)
        if as_root:  # the child runs as nobody: it needs its folder (and nothing else)
            os.chown(work, NOBODY, NOBODY)
            os.chmod(work, 0o700)
            os.chmod(outer, 0o711)
        boot = BOOT if audit else BOOT.replace("sys.addaudithook(_hook)", "pass")
        netns = network_isolation()
        cmd = [*netns, python_executable(), "-I", "-S", "-X", "utf8", "-c", boot, os.path.realpath(work),
               str(limits.cpu_s), str(limits.memory_mb * 2**20), str(limits.output_bytes), "1" if as_root else "0"]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work}
        t0 = time.perf_counter()
        with open(os.path.join(outer, "stdout"), "wb") as out, open(os.path.join(outer, "stderr"), "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=work, env=env,
                                    start_new_session=True, close_fds=True)
            timed_out = False
            try:
                proc.communicate(stdin.encode("utf-8"), timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
            except BaseException:
                _kill_group(proc)
                raise
        seconds = time.perf_counter() - t0
        stdout, out_full = _read(os.path.join(outer, "stdout"), limits.output_bytes)
        stderr, err_full = _read(os.path.join(outer, "stderr"), limits.output_bytes)
        code_ = None if timed_out else proc.returncode
        status, message = _classify(code_, stderr, out_full or err_full, limits)
        if as_root and status == "error" and "ModuleNotFoundError" in message:
            message += (" (running as root, the lab starts programs as 'nobody', who can import only the "
                        "common standard-library modules loaded beforehand)")
        return SandboxResult(status, code_, stdout, stderr, round(seconds, 3), message,
                             "namespace" if netns else "audit-hook", asdict(limits))
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _read(path: str, cap: int) -> tuple[str, bool]:
    """The first ``cap`` bytes of a file as text, and whether the file reached the cap."""
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    return data[:cap].decode("utf-8", errors="replace"), len(data) >= cap


def _classify(code: int | None, stderr: str, output_full: bool, limits: Limits) -> tuple[str, str]:
    if code is None:
        return "timeout", f"Stopped after {limits.wall_s:g} s of wall-clock time (a loop, a sleep, or waiting for more input)."
    if code == -signal.SIGXCPU or code == -signal.SIGKILL and "MemoryError" not in stderr:
        return "cpu_limit", f"Stopped: it used its {limits.cpu_s} s of CPU time (an endless loop?)."
    if output_full or "File too large" in stderr:
        return "output_limit", f"Stopped: it wrote more than {limits.output_bytes:,} bytes of output."
    if REFUSED in stderr:
        what = stderr[stderr.rindex(REFUSED) + len(REFUSED):].strip().splitlines()[0]
        return "refused", f"Refused by the sandbox: {what}."
    if "MemoryError" in stderr or code == -signal.SIGSEGV:
        return "memory_limit", f"Stopped: it tried to use more than {limits.memory_mb} MB of memory."
    if any(s in stderr for s in ("BlockingIOError", "Resource temporarily unavailable", "can't start new thread")):
        return "refused", "Refused by the sandbox: no new processes or threads."
    if code != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {code}"
        return "error", f"The program failed: {last}"
    return "ok", "The program ran and ended normally."
