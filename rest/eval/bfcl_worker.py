"""bfcl-eval's multi-turn backends in a worker process, so that no model call can hang a run.

Some backend methods do work whose size the caller chooses (``MathAPI.power(10, 100000000)``
builds a 100-million-digit integer). That work runs in C, which neither an alarm nor
SIGTERM interrupts, so two guards apply:

- before a call runs, its arguments are checked against per-method limits
  (``check_limits``; ``ARGUMENT_LIMITS`` and the size limits below), and a call past them is
  rejected like any other invalid call;
- the backends live in one worker process. A request that overruns its time limit gets the
  worker killed with SIGKILL (bfcl-eval's import chain installs a SIGTERM handler, which C
  code would not run anyway) and a fresh worker started; the callers replay what they had
  executed (``rest.eval.bfcl_multiturn.Episode``) and go on.

The worker answers four requests: execute call strings for an entry, score an entry with
``multi_turn_checker``, release an entry's backend instances, and list cached instances.
"""

from __future__ import annotations

import atexit
import inspect
import math
import multiprocessing
import sys
from collections.abc import Mapping
from typing import Any

#: Seconds one call may run before the worker is killed and the call counted as failed.
CALL_TIMEOUT = 10.0
#: Seconds the checker may take over one entry before the entry is scored wrong.
SCORE_TIMEOUT = 60.0
#: Seconds a fresh worker may take to import bfcl-eval.
START_TIMEOUT = 600.0

#: Size limits on every argument value (model output is far smaller when it is sane).
MAX_STRING_CHARS = 10_000
MAX_ITEMS = 1_000
#: ``int ** int`` may produce at most this many bits.
MAX_POWER_BITS = 100_000
#: Per-method limits on arguments that set the size of a computation: ``{param: maximum}``.
ARGUMENT_LIMITS: dict[tuple[str, str], dict[str, int]] = {
    ("MathAPI", "square_root"): {"precision": 1_000},  # decimal digits of the context
    ("MathAPI", "logarithm"): {"precision": 1_000},  # mpmath decimal places
}


class LimitExceeded(ValueError):
    pass


class WorkerTimeout(RuntimeError):
    pass


def _check_size(value: Any, path: str) -> None:
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        raise LimitExceeded(f"argument {path} is longer than {MAX_STRING_CHARS} characters")
    if isinstance(value, (list, dict)):
        if len(value) > MAX_ITEMS:
            raise LimitExceeded(f"argument {path} has more than {MAX_ITEMS} items")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            _check_size(v, f"{path}[{k!r}]")


def check_limits(class_name: str, method: str, params: Mapping[str, Any]) -> None:
    """Raise ``LimitExceeded`` if running ``class_name.method(**params)`` could take unbounded work."""
    for key, value in params.items():
        _check_size(value, key)
    for key, maximum in ARGUMENT_LIMITS.get((class_name, method), {}).items():
        value = params.get(key)
        if isinstance(value, (int, float)) and abs(value) > maximum:
            raise LimitExceeded(f"argument {key}={value!r} is above the limit {maximum} of {method}")
    if (class_name, method) == ("MathAPI", "power"):
        base, exponent = params.get("base"), params.get("exponent")
        if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0 \
                and exponent * math.log2(abs(base)) > MAX_POWER_BITS:
            raise LimitExceeded(f"power({base!r}, {exponent!r}) has more than {MAX_POWER_BITS} bits")


# --------------------------------------------------------------------------- in the worker


def _public_methods(instances: Mapping[str, Any]) -> dict[str, str]:
    methods = {}
    for class_name, obj in instances.items():
        for name, _ in inspect.getmembers(obj, predicate=inspect.ismethod):
            if not name.startswith("_"):
                methods.setdefault(name, class_name)
    return methods


def _release(store: dict, key: str) -> int:
    stale = [name for name in store if name.startswith(key + "_")]
    for name in stale:
        del store[name]
    return len(stale)


def _serve(conn) -> None:
    """The worker's loop: answer ``(op, args)`` with ``("ok", value)`` or ``("error", text)``."""
    sys.stdout = sys.stderr  # bfcl-eval prints; the parent's stdout may carry results
    from rest.eval.bfcl import load_bfcl

    bf = load_bfcl()
    store = vars(bf.multi_turn_utils)
    conn.send(("ok", "ready"))
    while True:
        try:
            op, args = conn.recv()
        except EOFError:
            return
        try:
            if op == "execute":
                key, entry, calls, long_context = args
                results, instances = bf.multi_turn_utils.execute_multi_turn_func_call(
                    calls, entry.get("initial_config", {}), entry["involved_classes"], key, entry["id"],
                    long_context=long_context, is_evaL_run=False)
                value = ([str(r) for r in results], _public_methods(instances))
            elif op == "score":
                key, calls, ground_truth, entry, category = args
                try:
                    result = bf.multi_turn_checker(calls, ground_truth, entry, category, key)
                finally:
                    _release(store, key)
                value = {k: result.get(k) for k in ("valid", "error_message", "error_type")}
                value["error_message"] = None if value["error_message"] is None else str(value["error_message"])
            elif op == "release":
                value = _release(store, args[0])
            elif op == "cached":
                value = sorted(name for name in store if name.startswith(args[0]))
            else:
                raise ValueError(f"unknown request {op!r}")
            conn.send(("ok", value))
        except Exception as e:  # noqa: BLE001 - report it; the worker stays usable
            conn.send(("error", f"{type(e).__name__}: {e}"))


# --------------------------------------------------------------------------- in the parent


class BackendWorker:
    """The parent's handle on the worker: requests with a time limit, kill and restart."""

    def __init__(self):
        self.generation = 0  # bumped at each start: callers replay into a new generation
        self._proc = None
        self._conn = None
        self._ready = False

    def start(self) -> None:
        """Start the worker without waiting for it, so its import overlaps other work."""
        if not self.alive:
            self._spawn()

    def _spawn(self) -> None:
        from rest.eval.bfcl import load_bfcl

        load_bfcl()  # sets BFCL_PROJECT_ROOT, which the worker inherits
        # spawn: the worker holds no copy of the model, CUDA state or the parent's threads
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="bfcl-backends")
        self._proc.start()
        child.close()
        self._conn = parent
        self._ready = False
        self.generation += 1

    def _wait_ready(self) -> None:
        if not self._conn.poll(START_TIMEOUT):
            self.kill()
            raise RuntimeError(f"the bfcl-eval worker did not start within {START_TIMEOUT:.0f} s")
        self._receive()
        self._ready = True

    def _receive(self):
        try:
            status, value = self._conn.recv()
        except EOFError:
            self.kill()
            raise RuntimeError("the bfcl-eval worker died") from None
        if status != "ok":
            raise RuntimeError(value)
        return value

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def request(self, op: str, *args, timeout: float = CALL_TIMEOUT):
        """Send one request; ``WorkerTimeout`` (after killing the worker) if it overruns."""
        if not self.alive:
            self._spawn()
        if not self._ready:
            self._wait_ready()
        self._conn.send((op, args))
        if not self._conn.poll(timeout):
            self.kill()
            raise WorkerTimeout(f"timed out after {timeout:g} s")
        return self._receive()

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()  # SIGKILL
            self._proc.join()
            self._conn.close()
        self._proc = self._conn = None


_worker: BackendWorker | None = None


def shared_worker() -> BackendWorker:
    """The process-wide worker, started on first use and killed at exit."""
    global _worker
    if _worker is None:
        _worker = BackendWorker()
        atexit.register(_worker.kill)
    return _worker

