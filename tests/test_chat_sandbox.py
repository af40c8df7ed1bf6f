"""Chapter 8's sandbox: every abuse case of the issue is stopped or refused, and reported;
the lab's own process is never touched. Each layer is also shown to hold on its own."""

from __future__ import annotations

import os
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from pizarra.chat.code import BMI_REFERENCE, BMI_STDIN, check_bmi
from pizarra.chat.sandbox import Limits, network_isolation, run_python
from pizarra.errors import BadInput

FAST = Limits(cpu_s=1, wall_s=20.0)  # loops end after 1 s of CPU; wall-clock generous for a loaded machine
SHORT = Limits(cpu_s=1, wall_s=2.0)
PROJECT_FILE = os.path.abspath(__file__)

# (name, code, expected status, a word the message must contain)
ABUSE = [
    ("infinite loop", "while True:\n    pass", "cpu_limit", "CPU"),
    ("sleep forever", "import time\ntime.sleep(60)", "timeout", "wall-clock"),
    ("waits for input that never comes", "import sys\nsys.stdin = open(0)\nwhile True:\n    pass", "cpu_limit", "CPU"),
    ("prints gigabytes", "while True:\n    print('x' * 100_000)", "output_limit", "output"),
    ("writes a huge file", "with open('big.bin', 'wb') as f:\n    f.write(b'0' * 10**8)", "output_limit", "bytes"),
    ("fork", "import os\nos.fork()", "refused", "os.fork"),
    ("fork bomb", "import os\nwhile True:\n    os.fork()", "refused", "os.fork"),
    ("subprocess", "import subprocess\nsubprocess.run(['ls', '/'])", "refused", "subprocess"),
    ("os.system", "import os\nos.system('echo hi')", "refused", "os.system"),
    ("exec another program", "import os\nos.execv('/bin/ls', ['ls'])", "refused", "os.exec"),
    ("thread", "import threading\nthreading.Thread(target=print).start()", "refused", "threads"),
    ("huge allocation", "x = bytearray(10**10)", "memory_limit", "MB"),
    ("growing list", "x = []\nwhile True:\n    x.append(' ' * 10**7)", "memory_limit", "MB"),
    ("socket to the lab", "import socket\nsocket.create_connection(('127.0.0.1', 8000))", "refused", "socket"),
    ("socket to the internet", "import socket\ns = socket.socket()\ns.connect(('93.184.215.14', 80))", "refused", "socket"),
    ("reads a project file", f"print(open({PROJECT_FILE!r}).read())", "refused", "open"),
    ("reads /etc/passwd", "print(open('/etc/passwd').read())", "refused", "open"),
    ("reads by relative path", "print(open('../../../../../../etc/hostname').read())", "refused", "open"),
    ("lists the project", f"import os\nprint(os.listdir({os.path.dirname(PROJECT_FILE)!r}))", "refused", "listdir"),
    ("writes outside", f"open({os.path.join(tempfile.gettempdir(), 'pizarra-escape.txt')!r}, 'w').write('x')", "refused", "open"),
    ("deletes outside", f"import os\nos.remove({PROJECT_FILE!r})", "refused", "os.remove"),
    ("ctypes", "import ctypes", "refused", "ctypes"),
    ("raw fork_exec", "import _posixsubprocess", "refused", "_posixsubprocess"),
]


@pytest.mark.parametrize("name,code,status,word", ABUSE, ids=[a[0] for a in ABUSE])
def test_abuse_is_stopped_and_reported(name, code, status, word):
    r = run_python(code, "", SHORT if status == "timeout" else FAST)
    assert r.status == status, (name, r.status, r.message, r.stderr[-500:])
    assert not r.ok
    assert word in r.message
    assert len(r.stdout.encode()) <= FAST.output_bytes and len(r.stderr.encode()) <= FAST.output_bytes


def test_nothing_escaped_and_nothing_left_behind(monkeypatch):
    from pathlib import Path

    tmp_path = Path(tempfile.mkdtemp(prefix="pizarra-test-"))  # under /tmp: reachable by `nobody`
    tmp_path.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sandbox's folders go here
    r = run_python("open('keep.txt', 'w').write('hola')\nprint(open('keep.txt').read())")
    assert r.ok and r.stdout == "hola\n"
    assert list(tmp_path.iterdir()) == []  # its temporary folder is deleted
    r = run_python(f"open({str(tmp_path / 'escape.txt')!r}, 'w').write('x')")
    assert r.status == "refused" and not (tmp_path / "escape.txt").exists()
    assert os.path.exists(PROJECT_FILE)
    tmp_path.rmdir()


def test_the_slide_program_runs_on_example_input():
    r = run_python(BMI_REFERENCE, BMI_STDIN)
    assert r.ok, r.stderr
    assert "Tu índice de masa corporal es 22.86" in r.stdout
    assert check_bmi(r.stdout) == {"right_value": True, "phrase": True}


def test_program_errors_are_reported_not_raised():
    r = run_python("x = int(input())\nprint(10 / x)", "0\n")
    assert r.status == "error" and r.exit_code == 1
    assert "ZeroDivisionError" in r.message and "main.py" in r.stderr
    r = run_python("print(input())")  # no input left: EOF, not a hang
    assert r.status == "error" and "EOFError" in r.message


def test_the_lab_survives_abuse_running_alongside():
    """Two abusive programs at once and a normal one after them: the server process is intact."""
    pid = os.getpid()
    with ThreadPoolExecutor(3) as pool:
        bomb = pool.submit(run_python, "import os\nwhile True:\n    os.fork()", "", FAST)
        hog = pool.submit(run_python, "x = bytearray(10**10)", "", FAST)
        fine = pool.submit(run_python, "print(sum(range(10)))")
        assert bomb.result().status == "refused" and hog.result().status == "memory_limit"
        assert fine.result().stdout == "45\n"
    assert os.getpid() == pid


def test_no_network_even_without_the_audit_hook():
    """Layer 2 alone: in its own network namespace the program cannot reach a server of this machine."""
    if not network_isolation():
        pytest.skip("this system allows no network namespace (unshare); the audit hook is the only guard")
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        r = run_python(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')",
                       audit=False)
    assert "connected" not in r.stdout
    assert r.status == "error" and "unreachable" in r.stderr.lower()


def test_no_new_process_even_without_the_audit_hook():
    """Layer 3 alone: RLIMIT_NPROC = 0 makes fork fail in the kernel."""
    r = run_python("import os\npid = os.fork()\nprint('forked', pid)", audit=False)
    assert "forked" not in r.stdout
    assert r.status == "refused" and "BlockingIOError" in r.stderr


def test_bad_requests_are_refused_before_running():
    with pytest.raises(BadInput, match="no code"):
        run_python("   ")
    with pytest.raises(BadInput, match="at most"):
        run_python("x = 1\n" * 5000)
    with pytest.raises(BadInput, match="cpu_s"):
        run_python("print(1)", limits=Limits(cpu_s=100))
