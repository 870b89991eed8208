"""Python logging into asgid's error log. Compiled into the binary (worker/asgi/python_logging.cc)
and importable as `asgid_logging`, so a --log-config file can name the handler:
{"class": "asgid_logging.Handler"}."""

import logging
import logging.config

TRACE = 5  # --log-level trace, as uvicorn names it


class Handler(logging.Handler):
    """Writes each record to asgid's error log with its level and logger name: asgid's format
    (text or JSON lines), destination and SIGUSR1 reopen apply. A traceback travels apart from
    the message, so JSON lines keep it in their "exception" field. A formatter set on the
    handler (in a --log-config file) renders the whole message instead."""

    def __init__(self, level=logging.NOTSET):
        super().__init__(level)
        self._plain = logging.Formatter()

    def emit(self, record):
        try:
            if self.formatter is not None:
                _emit(record.levelno, record.name, self.format(record), None)
                return
            message = record.getMessage()
            exception = None
            if record.exc_info:
                exception = self._plain.formatException(record.exc_info)
            elif record.exc_text:
                exception = record.exc_text
            if record.stack_info:
                stack = self._plain.formatStack(record.stack_info)
                exception = stack if exception is None else exception + "\n" + stack
            _emit(record.levelno, record.name, message, exception)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def install(level, config):
    """Before the app is imported: asgid's handler on the root logger, whose level follows
    --log-level, then the --log-config dictionary (None: none) over it."""
    logging.addLevelName(TRACE, "TRACE")
    root = logging.getLogger()
    root.addHandler(Handler())
    root.setLevel(level)
    if config is not None:
        try:
            logging.config.dictConfig(config)
        except Exception as exc:
            raise ValueError(_describe(exc)) from None


def _describe(exc):
    """One line with the causes dictConfig chains ("Unable to configure handler 'x'" is
    useless without the ModuleNotFoundError behind it)."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen and len(parts) < 5:
        seen.add(id(exc))
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    first = parts[0].split(": ", 1)[-1]  # raised again as a ValueError, which names itself
    return first + "".join(f" (caused by {part})" for part in parts[1:])
