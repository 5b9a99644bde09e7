"""The server log prints each record once, and a refused request without its traceback."""

import io
import logging
import logging.config

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden, HttpResponseServerError
from django.test import RequestFactory
from django.utils.log import DEFAULT_LOGGING, configure_logging, log_response


@pytest.fixture
def server_log(settings):
    """The project's logging as runserver sets it up under DEBUG (local settings): Django's
    defaults, then ``LOGGING``; every stream handler of every logger writes to one buffer (a
    record printed twice shows twice). The test configuration is put back afterwards."""
    settings.DEBUG = True
    logging.config.dictConfig(DEFAULT_LOGGING)
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    buffer = io.StringIO()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(buffer)
    yield buffer
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def _log_refusal(response, exception):
    request = RequestFactory().get("/accounts/7/")
    try:
        raise exception
    except type(exception) as exc:
        log_response("Refused: %s", request.path, response=response, request=request, exception=exc)


def test_a_refused_request_is_one_line_without_traceback(server_log):
    _log_refusal(HttpResponseForbidden(), PermissionDenied("not your account"))
    assert server_log.getvalue().count("Refused: /accounts/7/") == 1
    assert "Traceback" not in server_log.getvalue()


def test_a_server_error_keeps_its_traceback_once(server_log):
    _log_refusal(HttpResponseServerError(), RuntimeError("boom"))
    assert server_log.getvalue().count("Refused: /accounts/7/") == 1
    assert server_log.getvalue().count("Traceback") == 1


def test_a_request_line_is_printed_once(server_log):
    logging.getLogger("django.server").info(
        '"GET /accounts/ HTTP/1.1" 200 512', extra={"status_code": 200}
    )
    assert server_log.getvalue().count('"GET /accounts/ HTTP/1.1" 200 512') == 1
