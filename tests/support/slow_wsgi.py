"""The provider (``idp.wsgi``) behind one extra path, ``/__slow``, that takes two seconds before it
answers as discovery does, and that marks the file ``IDP_TEST_SLOW_MARK`` when it begins: a request
surely in flight when gunicorn is told to stop."""

import os
import time
from pathlib import Path

from idp.wsgi import app as provider


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/__slow":
        Path(os.environ["IDP_TEST_SLOW_MARK"]).touch()  # the request is in the worker now
        time.sleep(2)
        environ["PATH_INFO"] = "/.well-known/openid-configuration"
    return provider(environ, start_response)
