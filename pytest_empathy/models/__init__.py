"""Where answers and ratings come from: model profiles, the templates that prompt them, the
endpoint they are called at, responders, judges and the baseline they are compared with."""
