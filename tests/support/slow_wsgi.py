"""The provider (``idp.wsgi``) behind one extra path, ``/__slow``, that takes two seconds before it
answers as discovery does: a request that is surely in flight when gunicorn is told to stop."""

import time

from idp.wsgi import app as provider


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/__slow":
        time.sleep(2)
        environ["PATH_INFO"] = "/.well-known/openid-configuration"
    return provider(environ, start_response)
