"""The base of every page's form: Flask-WTF's, reading only what a browser's form sends.

Flask-WTF also fills a form from a JSON body; a page never takes one. And a body it cannot read
(malformed JSON, larger than ``MAX_CONTENT_LENGTH``) raised again while the error page built its
own forms (the console's sign-out button), turning a 400 or 413 into a 500. Here such a body is
no form data: the form is empty and refused as an empty form is, and the request is answered by
the error it already has."""

from __future__ import annotations

import inspect

from flask import request
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

#: Flask-WTF's marker for "read the form from the request" (the default of ``formdata``).
_FROM_REQUEST = inspect.signature(FlaskForm.__init__).parameters["formdata"].default


class PageForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is not _FROM_REQUEST:
                return super().wrap_formdata(form, formdata)
            if request.is_json:
                return None
            try:
                return super().wrap_formdata(form, formdata)
            except HTTPException:
                return None
