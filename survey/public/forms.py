"""The citizen form's envelope: CSRF token, response id and wave.

The questions themselves are rendered from the questionnaire and checked by
its own validator (survey.questionnaire), the one source of truth for what
is required and what is in range.
"""

from flask_wtf import FlaskForm
from wtforms import HiddenField


class ResponseEnvelope(FlaskForm):
    response_uuid = HiddenField()
    wave = HiddenField()
