"""The one limited reader: every file from outside is parsed in a child process that cannot hurt us.

GDAL chooses its driver by what a file contains, not by its name, and some drivers read other files
or URLs named inside the data (a VRT pointing at `CSV:/etc/passwd` or `/vsicurl/http://…`). So a
file from outside (a boundary upload today; GPX tracks and photos later) is never opened in a web
worker. `run()` starts `python -m geo.sandbox`, which confines itself before it reads a byte:

- resource limits: CPU seconds, address space, the largest file it may write, open files, no core;
- no new privileges, and a fresh user and network namespace: it has no network at all (where the
  kernel refuses namespaces, GDAL's network is switched off and the result says so);
- only the GDAL drivers the task allows stay registered (e.g. only "KML" for a .kml file);
- an empty environment and its own temporary folder, removed when it ends.

The parent waits at most `wall_seconds`, reads at most `output_bytes`, and turns every way the
child can fail (limit hit, crash, garbage) into a SandboxFailure with a stable kind. The child
answers in JSON lines, never pickle: a compromised child cannot make the parent run code.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Tasks the child may run: name -> "module:function(data: bytes, args: dict, progress) -> dict"
TASKS = {
    "boundaries": "geo.readers:read_in_child",
    "selftest": "geo.sandbox:selftest",
    "tracks": "geo.tracks:read_in_child",
    "photo": "geo.photos:reencode_in_child",
}


@dataclass(frozen=True)
class ProcessLimits:
    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 3 << 30  # address space: GDAL, PROJ and numpy reserve more than they use
    file_bytes: int = 256 << 20  # the largest file it may write (an extracted zip member)
    open_files: int = 256
    output_bytes: int = 512 << 20  # what the parent accepts back


DEFAULT_LIMITS = ProcessLimits()

# True only in the confined child: what opens outside files with GDAL checks it (require_child)
_IN_CHILD = False


def require_child() -> None:
    """Refuse to go on outside the confined child: files from outside are opened only there."""
    if not _IN_CHILD:
        raise RuntimeError("files from outside are opened only in geo.sandbox's child process")


class SandboxFailure(Exception):
    """The child did not give a result: kind is one of reader_timeout, reader_memory,
    reader_crashed, reader_output."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def run(
    task: str,
    data: bytes,
    args: dict,
    *,
    drivers: tuple[str, ...] = (),
    limits: ProcessLimits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run a task on untrusted bytes in a confined child; its JSON result, or SandboxFailure."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task}")
    header = {"task": task, "args": args, "drivers": list(drivers), "limits": asdict(limits)}
    with tempfile.TemporaryDirectory(prefix="sandbox-") as home:
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": home,
            "TMPDIR": home,
            "OPENBLAS_NUM_THREADS": "1",  # thread pools would only eat into the limits
            "OMP_NUM_THREADS": "1",
            "PROJ_NETWORK": "OFF",
            # belt and braces where no network namespace can be had: GDAL's curl reads nothing
            "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".no-network",
            "GDAL_HTTP_PROXY": "127.0.0.1:9",
            "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        }
        child = subprocess.Popen(
            [sys.executable, "-E", "-s", "-m", "geo.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
        fired = threading.Event()
        timer = threading.Timer(limits.wall_seconds, lambda: (fired.set(), _kill(child)))
        timer.start()
        errors: list[bytes] = []
        drain = threading.Thread(target=_drain, args=(child.stderr, errors), daemon=True)
        drain.start()
        try:
            try:
                child.stdin.write(json.dumps(header).encode() + b"\n")
                child.stdin.write(data)
                child.stdin.close()
            except BrokenPipeError:
                pass  # it died early: its exit status says why
            result = _read_answers(child, limits, progress)
            child.wait()
        finally:
            timer.cancel()
            if child.poll() is None:
                _kill(child)
                child.wait()
            drain.join(timeout=5)
    timed_out = fired.is_set()
    if result is not None and child.returncode == 0:
        return result
    stderr = b"".join(errors).decode("utf-8", "replace").strip().splitlines()
    last = stderr[-1][:300] if stderr else ""
    if timed_out:
        raise SandboxFailure("reader_timeout", f"{limits.wall_seconds:g} s")
    if child.returncode == -signal.SIGXCPU:
        raise SandboxFailure("reader_timeout", f"{limits.cpu_seconds} s CPU")
    if "MemoryError" in last or "bad_alloc" in last or "Cannot allocate" in last:
        raise SandboxFailure("reader_memory", f"{limits.memory_bytes >> 20} MB")
    if result is not None and child.returncode != 0:
        raise SandboxFailure("reader_crashed", f"exit {child.returncode}")
    raise SandboxFailure("reader_crashed", last or f"exit {child.returncode}")


def _kill(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


def _drain(stream, into: list[bytes], cap: int = 64 << 10) -> None:
    """Keep the end of the child's stderr (for the failure's detail) without letting it block."""
    kept = 0
    for line in stream:
        into.append(line)
        kept += len(line)
        while kept > cap and into:
            kept -= len(into.pop(0))


def _read_answers(child, limits: ProcessLimits, progress) -> dict | None:
    read = 0
    for line in child.stdout:
        read += len(line)
        if read > limits.output_bytes:
            _kill(child)
            raise SandboxFailure("reader_output", f"> {limits.output_bytes >> 20} MB")
        try:
            message = json.loads(line)
        except ValueError:
            _kill(child)
            raise SandboxFailure("reader_output", "not JSON") from None
        if not isinstance(message, dict):
            continue
        if "progress" in message and progress:
            done, total = message["progress"]
            progress(int(done), int(total))
        elif "result" in message:
            return message["result"]
    return None


# --- the child ------------------------------------------------------------------------------

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38


def _confine(limits: dict) -> bool:
    """Limit this process; True when it is cut off from every network."""
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU first, then SIGKILL
    for name, value in (
        (resource.RLIMIT_AS, limits["memory_bytes"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(name, (value, value))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # a new network namespace has only a loopback that is down: no address can be reached
    return libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0


def keep_only_drivers(allowed: tuple[str, ...]) -> None:
    """Deregister every GDAL driver but the allowed ones, in this process (the child)."""
    require_child()
    import pyogrio

    libdir = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    libs = sorted(libdir.glob("libgdal*"))
    lib = ctypes.CDLL(str(libs[0])) if libs else ctypes.CDLL("libgdal.so")
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.GDALDestroyDriver.argtypes = [ctypes.c_void_p]
    for i in reversed(range(lib.GDALGetDriverCount())):
        driver = lib.GDALGetDriver(i)
        if lib.GDALGetDriverShortName(driver).decode() not in allowed:
            lib.GDALDeregisterDriver(driver)
            lib.GDALDestroyDriver(driver)
    left = set(pyogrio.list_drivers())
    if not left <= set(allowed):
        raise RuntimeError(f"GDAL drivers still registered: {sorted(left - set(allowed))}")


def selftest(data: bytes, args: dict, progress) -> dict:
    """What the confinement allows, for operators and tests: try to reach an address, burn CPU,
    take memory; report what happened and which GDAL drivers are left."""
    import socket
    import time

    report: dict = {"received": len(data)}
    if args.get("connect"):
        host, port = args["connect"]
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                report["connected"] = True
        except OSError as exc:
            report["connected"] = False
            report["connect_error"] = exc.strerror or str(exc)
    if args.get("spin"):
        end = time.process_time() + float(args["spin"])
        while time.process_time() < end:
            pass
    if args.get("allocate"):
        report["allocated"] = len(bytearray(int(args["allocate"])))
    if args.get("drivers"):
        import pyogrio

        report["drivers"] = sorted(pyogrio.list_drivers())
    return report


def _child_main() -> int:
    global _IN_CHILD
    header = json.loads(sys.stdin.buffer.readline())
    isolated = _confine(header["limits"])
    _IN_CHILD = True
    data = sys.stdin.buffer.read()
    if header["drivers"]:
        keep_only_drivers(tuple(header["drivers"]))
    module, function = TASKS[header["task"]].split(":")
    task = getattr(importlib.import_module(module), function)

    def progress(done: int, total: int) -> None:
        sys.stdout.write(json.dumps({"progress": [done, total]}) + "\n")
        sys.stdout.flush()

    result = task(data, header["args"], progress)
    result["network_isolated"] = isolated
    sys.stdout.write(json.dumps({"result": result}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # run as `python -m`, this module is __main__: the tasks' `from geo import sandbox` must get
    # this very module (and its _IN_CHILD), not a second copy
    sys.modules["geo.sandbox"] = sys.modules[__name__]
    sys.exit(_child_main())
