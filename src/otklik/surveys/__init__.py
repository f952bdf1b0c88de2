"""Surveys: questionnaire versions, the respondent form, anonymous responses."""
