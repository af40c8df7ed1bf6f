"""Run a piece of Python written by a language model, without letting it touch anything.

    run_python(code, stdin="70\\n1.75\\n") -> SandboxResult(status, stdout, stderr, exit_code, ...)
    isolation_status() -> {"available": True, "tool": "bubblewrap", "version": "0.8.0", ...}

Layers, from the outside in. The kernel enforces the first three; the fourth is a tripwire.

1. A kernel sandbox, bubblewrap (``bwrap``), fresh for every run: new mount, PID, network, IPC,
   UTS (and cgroup) namespaces, in a new session, killed with its parent. Its root is an empty,
   read-only tmpfs holding only the Python runtime, bound read-only: the interpreter, its
   standard library and the shared libraries (``/usr/lib``, ``/lib*``; a runtime outside
   ``/usr``, e.g. pyenv's, appears as ``/opt/python``), every site-packages folder hidden.
   No ``/etc``, ``/home``, ``/root``, ``/work``, project, data folder, cache or virtual
   environment: not even ``os.stat`` finds them. Its own ``/proc`` (only its own processes),
   a minimal read-only ``/dev``, and two private tmpfs of SCRATCH_BYTES each, ``/tmp`` and the
   working folder ``/sandbox`` (the program is ``/sandbox/main.py``), gone when it ends: two
   runs never see each other's files. Its network namespace holds only its own loopback.
   The program runs as ``nobody`` (65534), no capabilities, ``no_new_privs``, only fds 0-2:
   - lab started by a normal user: a user namespace maps ``nobody`` onto that user, and no
     further user namespace may be created inside (``--disable-userns``);
   - lab started as root: no user namespace (it would map the program onto the host's root,
     whom the kernel trusts, e.g. to write ``/proc/sys/kernel/core_pattern``); bubblewrap
     keeps only CAP_SETUID and CAP_SETGID, and BOOT's first lines become the host's ``nobody``
     (checked: no capability left) before any line of the program runs.
2. A seccomp filter (x86-64 only) answering EPERM to system calls a program never needs and
   exploits love: kernel keyrings (shared by every ``nobody``), ptrace, bpf, perf, io_uring,
   userfaultfd, mount, unshare/setns, modules, reboot, clocks...; 32-bit calls kill the program.
3. Kernel limits (``setrlimit``, hard = soft): CPU seconds, address space (memory), size of any
   file written (stdout and stderr are files on the host, so this caps the output too), open
   files, locked memory, and no new processes or threads (RLIMIT_NPROC = 0, enforced because
   the program is never the host's root). A wall-clock timeout kills the sandbox's init, and
   with it everything in its PID namespace.
4. A Python audit hook (``sys.addaudithook``) that refuses, with a readable message, what a
   classroom program should not do: open() outside the working folder (the standard library may
   be read), sockets, subprocesses, ctypes... It lives in the program's own interpreter, so a
   determined program can switch it off; layers 1-3 do not depend on it (the tests prove it).

Known limits: the number of (empty) files in the tmpfs is not capped, only bounded by the CPU
limit (2 s make a few hundred thousand, some hundred MB of kernel memory, freed at the end);
``/proc/self/mountinfo`` shows where the interpreter lives on the host (a path, no content);
without x86-64 there is no seccomp layer.

Where the kernel sandbox cannot be had (no ``bwrap``, or the kernel refuses namespaces) nothing
runs: ``run_python`` raises :class:`~pizarra.errors.SandboxUnavailable` (HTTP 503).
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import re
import shutil
import signal
import site
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

from ..errors import BadInput, Phrase, SandboxUnavailable
from .validate import utf8

MAX_CODE_CHARS = 20_000
MAX_STDIN_CHARS = 10_000
MAX_CONCURRENT = 2  # sandboxes at once in one process: the other requests wait their turn
REFUSED = "[sandbox] refused:"  # how the audit hook's PermissionError starts
NOBODY = 65534
WORKDIR = "/sandbox"  # the program's folder inside the sandbox (a private tmpfs)
SCRATCH_BYTES = 16 * 2**20  # size of each private tmpfs (/tmp and WORKDIR)
INNER_PREFIX = "/opt/python"  # where a runtime that lives outside /usr appears inside
PROBE_RETRY_S = 60.0  # a failed probe is repeated at most this often (installing bwrap needs no restart)


@dataclass(frozen=True)
class Limits:
    """What one run may use. Checked ranges keep a web request from asking for more."""

    cpu_s: int = 2  # CPU seconds (RLIMIT_CPU): an infinite loop ends here
    wall_s: float = 5.0  # wall-clock seconds (sleep, waiting for input)
    memory_mb: int = 256  # address space (RLIMIT_AS)
    output_bytes: int = 64_000  # each of stdout, stderr and any file written (RLIMIT_FSIZE)

    def validated(self) -> "Limits":
        for name, lo, hi in (
            ("cpu_s", 1, 10),
            ("wall_s", 0.5, 30),
            ("memory_mb", 64, 1024),
            ("output_bytes", 1_000, 1_000_000),
        ):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise BadInput(
                    f"Sandbox limit {name}={v} is outside the allowed range {lo}..{hi}.",
                    key="err.sandbox.limit",
                    name=name,
                    value=str(v),
                    lo=lo,
                    hi=hi,
                )
        return self


@dataclass
class SandboxResult:
    status: str  # ok | error | refused | timeout | cpu_limit | memory_limit | output_limit
    exit_code: int | None  # None when killed by the timeout
    stdout: str
    stderr: str
    seconds: float
    message: str  # one sentence for people, in English (logs, CLI)
    network: str  # how the network was cut: "namespace" (its own, empty network namespace)
    limits: dict = field(default_factory=dict)
    message_key: str = ""  # ``message`` as a catalogue key and its parameters: the web shows it
    message_params: dict = field(default_factory=dict)  # in the reader's language

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


# --------------------------------------------------------------------------------------------
# The program's first lines, inside the sandbox: limits, identity, audit hook, then the program.
# Runs as `python -I -S -X utf8 -c BOOT WORKDIR CPU MEMORY FSIZE`.

BOOT = r"""
import os, sys, resource, traceback
_tmp, _cpu, _mem, _fsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for _lim, _v in ((resource.RLIMIT_CPU, _cpu), (resource.RLIMIT_AS, _mem), (resource.RLIMIT_FSIZE, _fsize),
                 (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_MEMLOCK, 0),
                 (resource.RLIMIT_MSGQUEUE, 0)):
    resource.setrlimit(_lim, (_v, _v))
if os.getuid() == 0:  # lab run as root: no user namespace, so become the host's nobody now
    os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
with open("/proc/self/status") as _f:
    _caps = [l.split()[1] for l in _f if l.startswith(("CapEff:", "CapPrm:"))]
if os.getresuid() != (65534,) * 3 or os.getresgid() != (65534,) * 3 or any(int(c, 16) for c in _caps):
    os.write(2, b"[sandbox] could not drop privileges\n")
    os._exit(70)
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no new process (nor thread)
_std = tuple(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_DENY_IMPORT = {"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters", "_testcapi",
                "_testinternalcapi", "cffi"}  # (socket may be imported: creating one is refused)
for _m in _DENY_IMPORT:
    sys.modules.pop(_m, None)
_DENY = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
         "os.forkpty", "os.kill", "os.killpg", "os.setuid", "os.putenv", "ctypes.", "winreg.", "pty.",
         "resource.setrlimit", "resource.prlimit", "sys._current_frames", "signal.pthread_kill")
_PATH_EVENTS = {"os.listdir": 0, "os.scandir": 0, "os.chdir": 0, "os.remove": 0, "os.rmdir": 0,
                "os.mkdir": 0, "os.rename": (0, 1), "os.replace": (0, 1), "os.link": (0, 1),
                "os.symlink": (0, 1), "os.chmod": 0, "os.chown": 0, "os.truncate": 0, "os.utime": 0,
                "shutil.rmtree": 0, "shutil.copyfile": (0, 1), "shutil.move": (0, 1), "glob.glob": 0,
                "os.chflags": 0, "os.mkfifo": 0, "os.mknod": 0, "os.getxattr": 0, "os.listxattr": 0}
_LIST = ("os.listdir", "os.scandir")  # allowed in the standard library too: imports list folders

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
                real = _real(p)
                if not _inside(real) and not (event in _LIST and any(_inside(real, s) for s in _std)):
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
"""


# --------------------------------------------------------------------------------------------
# Layer 2: seccomp. A classic BPF program, handed to bwrap (--seccomp FD), which loads it just
# before it starts Python. x86-64 numbers (asm/unistd_64.h); other machines go without.

DENIED_SYSCALLS_X86_64 = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "pidfd_getfd": 438,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "bpf": 321,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "fanotify_init": 300,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "acct": 163,
    "syslog": 103,
    "quotactl": 179,
    "quotactl_fd": 443,
    "iopl": 172,
    "ioperm": 173,
    "lookup_dcookie": 212,
    "vhangup": 153,
    "uselib": 134,
    "nfsservctl": 180,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "clock_adjtime": 305,
    "sethostname": 170,
    "setdomainname": 171,
}
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
_BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_JGE_K, _BPF_RET_K = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_KILL_PROCESS, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000


def seccomp_filter() -> bytes | None:
    """The BPF program (struct sock_filter[]): wrong architecture -> kill, x32 or denied -> EPERM."""
    if platform.machine() != "x86_64" or sys.byteorder != "little":
        return None
    deny = sorted(set(DENIED_SYSCALLS_X86_64.values()))
    n = len(deny)
    prog = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),  # int 0x80 and friends: 32-bit numbers differ
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_BPF_JGE_K, n + 1, 0, X32_SYSCALL_BIT),  # x32 ABI: same calls, other numbers
        *((_BPF_JEQ_K, n - i, 0, nr) for i, nr in enumerate(deny)),
        (_BPF_RET_K, 0, 0, _RET_ALLOW),
        (_BPF_RET_K, 0, 0, _RET_ERRNO | errno.EPERM),
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


# --------------------------------------------------------------------------------------------
# Layer 1: the file system the sandbox sees, and the bwrap command line.


def python_executable() -> str:
    """The real interpreter (not a virtual environment's link to it): with -I -S, stdlib only."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass(frozen=True)
class Runtime:
    folders: tuple[str, ...]  # folders of the root that hold the mounts (made 0755: nobody walks them)
    mounts: tuple[str, ...]  # bwrap arguments that build the read-only root
    python: str  # the interpreter's path inside
    library_path: str  # LD_LIBRARY_PATH inside ("" when the system's default folders are enough)


@functools.lru_cache(maxsize=1)
def runtime() -> Runtime:  # noqa: C901 - every isolation fallback and its reason in one readable place
    """Only what the interpreter needs, read-only: system libraries, the interpreter, its standard
    library; site-packages hidden. Computed from this process's base interpreter, once."""
    args: list[str] = []
    shown: list[tuple[str, str]] = []  # (host folder, the same folder inside)

    def inner_of(path: str) -> str | None:
        for host, inner in shown:
            if _under(path, host):
                return inner + path[len(host) :]
        return None

    def expose(host: str, inner: str) -> None:
        if os.path.islink(host):
            args.extend(["--symlink", os.readlink(host), inner])
        elif os.path.isdir(host):
            args.extend(["--ro-bind", host, inner])
            shown.append((os.path.realpath(host), inner))

    for folder in ("/usr/lib", "/usr/lib64", "/lib", "/lib64"):  # libc, libm, libssl, libffi...
        expose(folder, folder)
    prefix = os.path.realpath(sys.base_prefix)
    inner_prefix = prefix if _under(prefix, "/usr") else INNER_PREFIX  # e.g. /root/.pyenv/... -> /opt/python

    def relocated(path: str) -> str | None:
        return inner_prefix + path[len(prefix) :] if _under(path, prefix) else None

    exe = os.path.realpath(python_executable())
    inner_exe = inner_of(exe) or relocated(exe) or f"{inner_prefix}/bin/{os.path.basename(exe)}"
    if not inner_of(exe):
        args.extend(["--ro-bind", exe, inner_exe])
    library_path = []
    for sub in ("lib", "lib64"):  # libpython, the standard library, lib-dynload
        host = os.path.join(prefix, sub)
        if os.path.isdir(host) and not inner_of(os.path.realpath(host)):
            expose(host, relocated(host))
            if not os.path.islink(host):
                library_path.append(relocated(host))
    base = {"base": prefix, "platbase": prefix, "installed_base": prefix, "installed_platbase": prefix}
    venv = os.path.realpath(sys.prefix)  # a virtual environment's packages never go in
    for key in ("stdlib", "platstdlib"):  # unusual layouts: the standard library somewhere else
        path = os.path.realpath(sysconfig.get_path(key, vars=base))
        if os.path.isdir(path) and not inner_of(path) and (venv == prefix or not _under(path, venv)):
            expose(path, relocated(path) or path)
    for tz in (sysconfig.get_config_var("TZPATH") or "").split(os.pathsep):  # zoneinfo's data
        if tz and os.path.isdir(tz) and not inner_of(os.path.realpath(tz)):
            expose(tz, tz)
    hidden = set(site.getsitepackages([prefix]))  # installed packages are not the runtime
    for key in ("purelib", "platlib"):
        hidden.add(sysconfig.get_path(key, vars=base))
    for path in sorted(hidden):
        inner = inner_of(os.path.realpath(path))
        if inner and os.path.isdir(path):
            args.extend(["--tmpfs", inner, "--remount-ro", inner])
    dests = [args[i + 2] for i, a in enumerate(args) if a in ("--ro-bind", "--symlink")]
    folders = sorted({os.path.dirname(d.rstrip("/")) for d in dests} - {"/"})
    folders = sorted({f[:i] for f in folders for i in range(1, len(f) + 1) if f[i : i + 1] in ("/", "")} - {""})
    return Runtime(tuple(folders), tuple(args), inner_exe, ":".join(library_path))


def _bwrap_help(bwrap: str) -> str:
    try:
        r = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10)
        return r.stdout + r.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


def _command(
    bwrap: str, options: str, limits: Limits, code_fd: int, info_fd: int, seccomp_fd: int | None, boot: str = BOOT
) -> list[str]:
    """The whole command: bwrap's namespaces and mounts, then Python running BOOT."""
    rt = runtime()
    if os.geteuid() == 0:  # see the module docstring: no user namespace for root
        ns = [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    else:
        ns = ["--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL"]
        if "--disable-userns" in options:
            ns.append("--disable-userns")
    size = ["--size", str(SCRATCH_BYTES)] if "--size" in options else []
    perms = ["--perms", "1777"] if "--perms" in options else []
    env = ["--clearenv"] if "--clearenv" in options else []  # (else: bwrap's own, already minimal)
    env += ["--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", WORKDIR]
    if rt.library_path:
        env += ["--setenv", "LD_LIBRARY_PATH", rt.library_path]
    folders = (
        [a for d in rt.folders for a in ("--perms", "0755", "--dir", d)]
        if perms
        else [a for d in rt.folders for a in ("--dir", d)]
    )
    cmd = [
        bwrap,
        *ns,
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--info-fd",
        str(info_fd),
        *env,
        *folders,
        *rt.mounts,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        *perms,
        *size,
        "--tmpfs",
        "/tmp",
        *perms,
        *size,
        "--tmpfs",
        WORKDIR,
        *(["--perms", "0644"] if perms else []),
        "--file",
        str(code_fd),
        f"{WORKDIR}/main.py",
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        WORKDIR,
    ]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return cmd + [
        "--",
        rt.python,
        "-I",
        "-S",
        "-X",
        "utf8",
        "-c",
        boot,
        WORKDIR,
        str(limits.cpu_s),
        str(limits.memory_mb * 2**20),
        str(limits.output_bytes),
    ]


# --------------------------------------------------------------------------------------------
# Is the sandbox there? Probed once (a failure again after PROBE_RETRY_S), by running a program.

_probe_lock = threading.Lock()
_probe: dict = {}
PROBE_CODE = (
    "import json, math, os, re\nopen('probe.txt', 'w').write('ok')\n"
    "print('pizarra-sandbox-ok', os.getuid(), os.getcwd())\n"
)


def isolation_status(refresh: bool = False) -> dict:
    """Whether code can run isolated here, and if not why (for ``pizarra doctor`` and the errors).

    ``{"available", "tool", "path", "version", "mode", "seccomp", "reason", "warnings"}``: ``reason``
    says why code cannot run, ``warnings`` what an old bubblewrap leaves out."""
    with _probe_lock:
        stale = not _probe or (not _probe["available"] and time.monotonic() - _probe["_at"] > PROBE_RETRY_S)
        if refresh or stale:
            _probe.clear()
            _probe.update(_run_probe(), _at=time.monotonic())
        return {k: v for k, v in _probe.items() if not k.startswith("_")}


def _run_probe() -> dict:
    status = {
        "available": False,
        "tool": "bubblewrap",
        "path": None,
        "version": None,
        "mode": "root, drops to nobody" if os.geteuid() == 0 else "user namespace, as nobody",
        "seccomp": seccomp_filter() is not None,
        "reason": None,
        "warnings": [],
    }
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return {**status, "reason": "bwrap not found"}
    status["path"] = bwrap
    try:
        v = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
        status["version"] = v.stdout.strip().removeprefix("bubblewrap").strip() or None
        options = _bwrap_help(bwrap)
        r = _execute(bwrap, options, PROBE_CODE, "", Limits(cpu_s=5, wall_s=30.0), audit=True)
    except (OSError, subprocess.SubprocessError) as e:
        return {**status, "reason": f"bwrap could not start: {e}"}
    expected = f"pizarra-sandbox-ok {NOBODY} {WORKDIR}"
    if r.exit_code == 0 and r.stdout.strip() == expected:
        if "--size" not in options:
            status["warnings"].append("bubblewrap < 0.7: the sandbox's /tmp and working folder have no size limit")
        if os.geteuid() != 0 and "--disable-userns" not in options:
            status["warnings"].append("bubblewrap < 0.8: the sandbox may create nested user namespaces")
        return {**status, "available": True}
    detail = (r.stderr.strip().splitlines() or [f"exit code {r.exit_code}"])[-1][:300]
    return {**status, "reason": f"a test program did not run in the sandbox: {detail}"}


def network_isolation() -> list[str]:
    """The sandbox's command prefix when it has its own network namespace (always, when it runs at
    all), or [] when code cannot run here."""
    s = isolation_status()
    return [s["path"], "--unshare-net"] if s["available"] else []


def _require_isolation() -> dict:
    s = isolation_status()
    if s["available"]:
        return s
    if not s["path"]:
        raise SandboxUnavailable(
            "No se puede ejecutar código: falta el aislamiento del sistema (bubblewrap). Instala el paquete "
            "«bubblewrap» (por ejemplo: sudo apt install bubblewrap) y vuelve a intentarlo; sin él Pizarra no "
            "ejecuta ningún programa. | Cannot run code: the system's isolation (bubblewrap) is missing. "
            "Install the 'bubblewrap' package (for example: sudo apt install bubblewrap) and try again; "
            "without it Pizarra runs no program.",
            s["reason"],
            key="err.sandbox.missing",
        )
    raise SandboxUnavailable(
        f"No se puede ejecutar código: el aislamiento del sistema (bubblewrap) no funciona aquí "
        f"({s['reason']}). Hace falta un núcleo Linux que permita espacios de nombres (user namespaces); "
        f"en un contenedor, arráncalo con permiso para crearlos. | Cannot run code: the system's isolation "
        f"(bubblewrap) does not work here ({s['reason']}). It needs a Linux kernel that allows namespaces "
        f"(user namespaces); in a container, start it with permission to create them.",
        s["reason"],
        key="err.sandbox.broken",
        why=s["reason"],
    )


# --------------------------------------------------------------------------------------------

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


def run_python(code: str, stdin: str = "", limits: Limits = Limits(), audit: bool = True) -> SandboxResult:
    """Run ``code`` in the sandbox, feeding it ``stdin``; never raises for what the code does.

    Raises BadInput for a request out of bounds and SandboxUnavailable (503) when this machine
    cannot isolate it. ``audit=False`` leaves the audit hook out (tests use it to prove the
    kernel layers alone).
    """
    if not isinstance(code, str) or not code.strip():
        raise BadInput("There is no code to run: write or extract some Python first.", key="err.sandbox.no_code")
    if len(code) > MAX_CODE_CHARS:
        raise BadInput(
            f"The code has {len(code)} characters; the sandbox accepts at most {MAX_CODE_CHARS}.",
            key="err.text_too_long",
            what=Phrase("err.what.code"),
            n=len(code),
            limit=MAX_CODE_CHARS,
        )
    if len(stdin) > MAX_STDIN_CHARS:
        raise BadInput(
            f"The input has {len(stdin)} characters; the limit is {MAX_STDIN_CHARS}.",
            key="err.text_too_long",
            what=Phrase("err.what.input"),
            n=len(stdin),
            limit=MAX_STDIN_CHARS,
        )
    utf8(code, "code")
    utf8(stdin, "input")
    limits = limits.validated()
    iso = _require_isolation()
    with _slots:
        return _execute(iso["path"], _options(iso["path"]), code, stdin, limits, audit)


@functools.lru_cache(maxsize=4)
def _options(bwrap: str) -> str:
    return _bwrap_help(bwrap)


def _execute(bwrap: str, options: str, code: str, stdin: str, limits: Limits, audit: bool) -> SandboxResult:
    outer = tempfile.mkdtemp(prefix="pizarra-sandbox-")  # on the host: the program and its output
    try:
        src = os.path.join(outer, "main.py")
        with open(src, "w", encoding="utf-8") as f:
            f.write(code)
        bpf = seccomp_filter()
        t0 = time.perf_counter()
        with (
            open(src, "rb") as code_f,
            open(os.path.join(outer, "stdout"), "wb") as out,
            open(os.path.join(outer, "stderr"), "wb") as err,
        ):
            info_r, info_w = os.pipe()  # bwrap writes the sandbox's init pid there (for the timeout)
            handed = [info_w]  # pipes bwrap gets; closed here once it has them
            try:
                seccomp_r = None
                if bpf is not None:  # a few hundred bytes: fits in the pipe before bwrap reads it
                    seccomp_r, seccomp_w = os.pipe()
                    handed.append(seccomp_r)
                    os.write(seccomp_w, bpf)
                    os.close(seccomp_w)
                boot = BOOT if audit else BOOT.replace("sys.addaudithook(_hook)", "pass")
                cmd = _command(bwrap, options, limits, code_f.fileno(), info_w, seccomp_r, boot)
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    cwd="/",
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=(code_f.fileno(), *handed),
                )
            except BaseException:
                os.close(info_r)
                raise
            finally:
                for fd in handed:
                    os.close(fd)
            timed_out = False
            try:
                proc.communicate(stdin.encode("utf-8"), timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_sandbox(proc, info_r)
            except BaseException:
                _kill_sandbox(proc, info_r)
                raise
            finally:
                os.close(info_r)
        seconds = time.perf_counter() - t0
        stdout, out_full = _read(os.path.join(outer, "stdout"), limits.output_bytes)
        stderr, err_full = _read(os.path.join(outer, "stderr"), limits.output_bytes)
        code_ = None if timed_out else proc.returncode
        if code_ is not None and 128 < code_ < 128 + 65:  # bwrap says "killed by signal N" as 128 + N
            code_ = -(code_ - 128)
        status, message, phrase = _classify(code_, stderr, out_full or err_full, limits)
        return SandboxResult(
            status,
            code_,
            stdout,
            stderr,
            round(seconds, 3),
            message,
            "namespace",
            asdict(limits),
            phrase.key,
            phrase.params,
        )
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def _kill_sandbox(proc: subprocess.Popen, info_r: int) -> None:
    """Kill the sandbox's init: the kernel then kills everything in its PID namespace, and bwrap,
    its parent, collects it and exits (no zombie left for the host's init). Fallback: bwrap's
    whole process group (its init follows, --die-with-parent)."""
    child = None
    os.set_blocking(info_r, False)
    try:
        found = re.search(rb'"child-pid"\s*:\s*(\d+)', os.read(info_r, 65536))
        child = int(found.group(1)) if found else None
    except OSError:
        pass
    if child and proc.poll() is None and hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(child)  # pins the process: no pid reuse between check and kill
            try:
                with open(f"/proc/{child}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
                if parent == proc.pid:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                    proc.wait(timeout=5)
                    return
            finally:
                os.close(pidfd)
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            pass
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


def _classify(code: int | None, stderr: str, output_full: bool, limits: Limits) -> tuple[str, str, Phrase]:
    """(status, the English sentence, the same sentence as a catalogue phrase)."""
    status, message = _classify_english(code, stderr, output_full, limits)
    if status == "timeout":
        return status, message, Phrase("sandbox.timeout", {"s": limits.wall_s})
    if status == "cpu_limit":
        return status, message, Phrase("sandbox.cpu_limit", {"s": limits.cpu_s})
    if status == "output_limit" and "MB folder" in message:
        return status, message, Phrase("sandbox.disk_limit", {"mb": SCRATCH_BYTES // 2**20})
    if status == "output_limit":
        return status, message, Phrase("sandbox.output_limit", {"bytes": limits.output_bytes})
    if status == "memory_limit":
        return status, message, Phrase("sandbox.memory_limit", {"mb": limits.memory_mb})
    if status == "refused":
        what = message.removeprefix("Refused by the sandbox: ").removesuffix(".")
        if what == "no new processes or threads":
            return status, message, Phrase("sandbox.refused_processes")
        if what == "a forbidden system call":
            return status, message, Phrase("sandbox.refused_syscall")
        return status, message, _refusal(what)
    if status == "error":
        return status, message, Phrase("sandbox.error", {"last": message.removeprefix("The program failed: ")})
    return status, message, Phrase("sandbox.ok")


# What the audit hook refuses (see _hook), as the reader's sentence: the path, module or event stays as
# the program wrote it; the words around it come from the catalogue.
_REFUSALS = (
    (re.compile(r"^open\('(?P<path>.*)'\): only files inside the temporary folder may be opened$", re.S), "open"),
    (re.compile(r"^import (?P<module>[\w.]+)$"), "import"),
    (re.compile(r"^(?P<event>[\w.]+) \(no network, no new processes\)$"), "event"),
    (re.compile(r"^(?P<event>[\w.]+)\('(?P<path>.*)'\): outside the temporary folder$", re.S), "path"),
)


def _refusal(what: str) -> Phrase:
    for pattern, kind in _REFUSALS:
        m = pattern.match(what)
        if m:
            return Phrase(f"sandbox.refused_{kind}", m.groupdict())
    return Phrase("sandbox.refused", {"what": what})


def _classify_english(code: int | None, stderr: str, output_full: bool, limits: Limits) -> tuple[str, str]:
    if code is None:
        return (
            "timeout",
            f"Stopped after {limits.wall_s:g} s of wall-clock time (a loop, a sleep, or waiting for more input).",
        )
    if code == -signal.SIGXCPU or code == -signal.SIGKILL and "MemoryError" not in stderr:
        return "cpu_limit", f"Stopped: it used its {limits.cpu_s} s of CPU time (an endless loop?)."
    if output_full or "File too large" in stderr:
        return "output_limit", f"Stopped: it wrote more than {limits.output_bytes:,} bytes of output."
    if "No space left on device" in stderr:
        return "output_limit", f"Stopped: its files filled the sandbox's {SCRATCH_BYTES // 2**20} MB folder."
    if REFUSED in stderr:
        what = stderr[stderr.rindex(REFUSED) + len(REFUSED) :].strip().splitlines()[0]
        return "refused", f"Refused by the sandbox: {what}."
    if "MemoryError" in stderr or code == -signal.SIGSEGV:
        return "memory_limit", f"Stopped: it tried to use more than {limits.memory_mb} MB of memory."
    if any(s in stderr for s in ("BlockingIOError", "Resource temporarily unavailable", "can't start new thread")):
        return "refused", "Refused by the sandbox: no new processes or threads."
    if code == -signal.SIGSYS:
        return "refused", "Refused by the sandbox: a forbidden system call."
    if code != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {code}"
        return "error", f"The program failed: {last}"
    return "ok", "The program ran and ended normally."
