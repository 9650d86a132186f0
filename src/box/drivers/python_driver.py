# agentjail python driver: one stateful code context (see docs/drivers.md).
#
# Started by the sandbox manager as `python3 -u -c <this file>`.
#   fd 0  requests, one JSON object per line: {"id":N,"code":"...","env":{..}}
#   fd 1  the cells' stdout      fd 2  the cells' stderr
#   fd 3  events, one JSON object per line (ready, result, error, end)
# Cells share one namespace (a fresh __main__ module), like notebook cells.
# Everything the driver needs is imported here, once: a cell costs no import.
import ast
import binascii
import builtins
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types
from _thread import allocate_lock

_DRIVER = globals()  # frames with these globals are ours: cut from tracebacks

# --- channels ----------------------------------------------------------------
# Move the protocol pipes to private close-on-exec descriptors so that child
# processes of the cells can neither read requests nor hold the event pipe
# open after we die, and give the cells /dev/null as stdin.
_REQ = open(os.dup(0), "rb")  # os.dup makes non-inheritable copies
_EV = os.dup(3)
os.close(3)
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)

# SIGINT interrupts the running cell and nothing else.  _busy is true while
# user code runs; _emitting while an event is being written, so that a line
# on fd 3 is never cut in half (the interrupt is raised right after it).
_busy = False
_emitting = False
_pending = False


def _on_sigint(signum, frame):
    global _pending
    if not _busy:
        return  # idle, or finishing a cell: ignore
    if _emitting:
        _pending = True
        return
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, _on_sigint)

_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_lock = allocate_lock()  # a cell's threads may display() too: whole lines
_held = b""  # events kept to go out with the next one


def _emit(event, hold=False):
    """Write one event as one JSON line on the event channel.  hold keeps it
    to be written together with the next event: for the last events of a
    cell (main result or error, then end), so the reader wakes once."""
    global _emitting, _pending, _held
    data = (_json(event) + "\n").encode("utf-8", "replace")  # lone surrogates: ?
    with _lock:
        data, _held = _held + data, b""
        if hold:
            _held = data
            return
        view = memoryview(data)
        _emitting = True
        try:
            while view:
                view = view[os.write(_EV, view):]
        finally:
            _emitting = False
    if _pending:
        _pending = False
        if _busy:
            raise KeyboardInterrupt


# --- formatting results ------------------------------------------------------
# IPython-style rich display: text is repr(); the _repr_*_ methods an object
# offers add the other formats.
_REPR_METHODS = (
    ("html", "_repr_html_"),
    ("markdown", "_repr_markdown_"),
    ("svg", "_repr_svg_"),
    ("png", "_repr_png_"),
    ("jpeg", "_repr_jpeg_"),
    ("latex", "_repr_latex_"),
    ("json", "_repr_json_"),
    ("javascript", "_repr_javascript_"),
)
_MIME_KEYS = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
}


def _add_format(out, key, value):
    if isinstance(value, tuple):  # (data, metadata)
        value = value[0]
    if value is None:
        return
    if key in ("png", "jpeg") and isinstance(value, (bytes, bytearray)):
        value = binascii.b2a_base64(value, newline=False).decode("ascii")
    if key == "json":
        try:  # must survive our own json.dumps; NaN is not JSON
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return
    elif not isinstance(value, str):
        return
    out[key] = value


# Builtin types offer no rich forms: their results skip the lookups below.
_PLAIN = frozenset((int, float, complex, bool, str, bytes, list, tuple, dict,
                    set, frozenset, range))


def _formats(obj):
    """The result fields for obj: text plus whatever rich forms it offers."""
    out = {"text": repr(obj)}
    cls = type(obj)  # look methods up on the class, as IPython does
    if cls in _PLAIN:
        return out
    if getattr(cls, "_repr_mimebundle_", None) is not None:
        try:
            bundle = obj._repr_mimebundle_()
            if isinstance(bundle, tuple):
                bundle = bundle[0]
            for mime, value in (bundle or {}).items():
                if mime in _MIME_KEYS:
                    _add_format(out, _MIME_KEYS[mime], value)
        except Exception:
            pass
    for key, name in _REPR_METHODS:
        if key in out or getattr(cls, name, None) is None:
            continue
        try:
            _add_format(out, key, getattr(obj, name)())
        except Exception:
            pass  # a broken formatter costs its format, not the result
    fig = sys.modules.get("matplotlib.figure")
    if fig is not None and isinstance(obj, fig.Figure) and "png" not in out:
        _add_figure_png(out, obj)
    return out


def _add_figure_png(out, fig):
    if not fig.axes:  # an empty figure has nothing to draw (as IPython)
        return
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    out["png"] = binascii.b2a_base64(buf.getvalue(), newline=False).decode()


def _figures_open():
    plt = sys.modules.get("matplotlib.pyplot")
    return plt is not None and bool(plt.get_fignums())


def _result(obj, main):
    if _id is None:
        return  # display() from a thread between cells: no cell to give it to
    event = {"id": _id, "type": "result"}
    event.update(_formats(obj))
    event["is_main_result"] = main
    # The main result is the cell's last act: unless figures remain to be
    # drawn (slow, and the result should not wait for them), it goes out
    # with the end event.
    _emit(event, hold=main and not _figures_open())


def display(*objs):
    """Show objects as results now (like IPython's display)."""
    for obj in objs:
        _result(obj, False)
        _close_figure(obj)


# --- matplotlib --------------------------------------------------------------
# Figures shown with plt.show(), or still open when a cell ends, become PNG
# results and are closed.  matplotlib is never imported by us: a hook on the
# import of matplotlib.pyplot replaces pyplot.show as soon as a cell loads it.
def _show_figures(*args, **kwargs):
    """Replacement for matplotlib.pyplot.show: emit the open figures."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or _id is None:
        return
    for num in plt.get_fignums():
        fig = plt.figure(num)
        try:
            out = {"id": _id, "type": "result", "text": repr(fig)}
            _add_figure_png(out, fig)
            out["is_main_result"] = False
            _emit(out)
        finally:
            plt.close(fig)


def _close_figure(obj):
    plt = sys.modules.get("matplotlib.pyplot")
    fig = sys.modules.get("matplotlib.figure")
    if plt is not None and fig is not None and isinstance(obj, fig.Figure):
        plt.close(obj)  # shown already: not again at the end of the cell


class _PyplotHook:
    """Meta path finder that patches pyplot.show right after pyplot loads."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            _show_figures.__doc__ = module.show.__doc__
            module.show = _show_figures

        spec.loader.exec_module = exec_module
        return spec

    def invalidate_caches(self):
        pass


sys.meta_path.insert(0, _PyplotHook())

# Debian's matplotlib reads /etc/matplotlibrc, which a sandbox may not
# expose; the identical copy under /usr/share does the same job.
_RC = "/usr/share/matplotlib/mpl-data/matplotlibrc"
if ("MATPLOTLIBRC" not in os.environ and not os.path.exists("/etc/matplotlibrc")
        and os.path.exists(_RC)):
    os.environ["MATPLOTLIBRC"] = _RC


# --- running cells -----------------------------------------------------------
_user = types.ModuleType("__main__")  # the cells' namespace
_user.__dict__["__builtins__"] = builtins
_user.__dict__["display"] = display
sys.modules["__main__"] = _user  # so pickle & co find the cells' classes
_ns = _user.__dict__

_count = 0  # execution_count
_id = None  # id of the request being run, None between cells
_loop = None  # asyncio loop for cells with top-level await, made on demand
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect
_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _run_code(code):
    value = eval(code, _ns)
    if code.co_flags & _CO_COROUTINE:  # top-level await: run the coroutine
        global _loop
        import asyncio

        if _loop is None:
            _loop = asyncio.new_event_loop()
        value = _loop.run_until_complete(value)
    return value


def _silenced(src, node):
    """True if the expression statement is followed by ';' (IPython rule)."""
    line = src.splitlines()[node.end_lineno - 1].encode("utf-8")
    rest = line[node.end_col_offset:].decode("utf-8", "replace")
    return rest.lstrip().startswith(";")


def _exec_cell(src, filename):
    """Run all statements; if the last is an expression, show its value."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    # A cell that is one expression (`1+1`, `df.head()`) compiles in eval
    # mode to what the general path ends with, without the syntax tree in
    # between (a third of a small cell's time).  Anything else, a trailing
    # ';' included, fails here and takes the general path, which raises
    # the same error for a cell that does not compile at all.
    try:
        code = compile(src, filename, "eval", _FLAGS)
    except (SyntaxError, ValueError):
        code = None
    if code is not None:
        _show(_run_code(code))
        return
    tree = compile(src, filename, "exec", ast.PyCF_ONLY_AST | _FLAGS)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        if not _silenced(src, tree.body[-1]):
            last = ast.Expression(tree.body.pop().value)
    if tree.body:
        _run_code(compile(tree, filename, "exec", _FLAGS))
    if last is not None:
        _show(_run_code(compile(last, filename, "eval", _FLAGS)))


def _show(value):
    """The cell's value as its main result (None shows nothing)."""
    if value is not None:
        _ns["_"] = value
        _result(value, True)
        _close_figure(value)


def _error_event(exc):
    """Error event for exc, the traceback cut of the driver's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_globals is _DRIVER:
        tb = tb.tb_next  # leading frames: _run_cell, _exec_cell, _run_code
    head = tb
    while tb is not None and tb.tb_next is not None:
        if tb.tb_next.tb_frame.f_globals is _DRIVER:  # e.g. _on_sigint
            tb.tb_next = tb.tb_next.tb_next
        else:
            tb = tb.tb_next
    exc = exc.with_traceback(head)
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, head
    lines = traceback.format_exception(type(exc), exc, head)
    return {
        "id": _id,
        "type": "error",
        "name": type(exc).__name__,
        "value": str(exc),
        "traceback": "".join(lines).rstrip("\n"),
    }


def _flush_std():
    for f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            f.flush()
        except Exception:
            pass


def _run_cell(rid, src, env):
    """Run one cell and emit its results, error and end."""
    global _busy, _count, _id
    _id = rid
    _count += 1
    status, error = "ok", None
    saved = {k: os.environ.get(k) for k in env}
    try:
        try:
            if env:
                os.environ.update(env)
            _busy = True
            _exec_cell(src, "<cell-%d>" % _count)
            _show_figures()
        finally:
            _busy = False
    except KeyboardInterrupt as e:
        status, error = "interrupted", _error_event(e)
        _close_all_figures()
    except BaseException as e:  # SystemExit too: the context lives on
        status, error = "error", _error_event(e)
        try:
            _show_figures()
        except Exception:
            _close_all_figures()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _flush_std()
    _id = None  # from here on, a display() from some thread is dropped
    if error is not None:
        _emit(error, hold=True)
    _emit({"id": rid, "type": "end", "execution_count": _count, "status": status})


def _close_all_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:
            pass


def _check(req):
    """Return an error message if req is not a valid request, else None."""
    if not isinstance(req.get("code"), str):
        return "code must be a string"
    env = req.get("env", {})
    if not isinstance(env, dict):
        return "env must be an object"
    for k, v in env.items():
        if not k or "=" in k or "\0" in k or not isinstance(v, str) or "\0" in v:
            return "bad env entry %r" % k
    return None


_scan = json.scanner.make_scanner(json.JSONDecoder())


def _parse(line):
    """json.loads of one request line, minus its two regular-expression
    passes for surrounding whitespace (the manager sends compact JSON);
    anything unusual goes to json.loads for its usual result or error."""
    s = line.decode("utf-8", "surrogatepass")
    try:
        obj, end = _scan(s, 0)
    except StopIteration:
        return json.loads(s)
    if s[end:].strip():
        return json.loads(s)
    return obj


def _main():
    _emit({"type": "ready", "language": "python", "pid": os.getpid()})
    for line in _REQ:
        if not line.strip():
            continue
        try:
            req = _parse(line)
            if not isinstance(req, dict) or type(req.get("id")) is not int:
                raise ValueError("id must be an integer")
        except ValueError as e:
            _emit({"type": "protocol_error", "message": "bad request: %s" % e})
            continue
        rid = req["id"]
        bad = _check(req)
        if bad is not None:
            _emit({"id": rid, "type": "error", "name": "ProtocolError",
                   "value": bad, "traceback": ""})
            _emit({"id": rid, "type": "end", "execution_count": _count,
                   "status": "error"})
            continue
        _run_cell(rid, req["code"], req.get("env") or {})


_main()
