from flask.cli import AppGroup

questionnaire_cli = AppGroup(
    "questionnaire"
)  # placeholder until the questionnaire engineer writes this file
