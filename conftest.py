"""Repository-wide test configuration.

``pytester`` drives the plugin's integration tests; ``pytest_plugins`` is only allowed in
the root conftest, so it is declared here.
"""

pytest_plugins = ["pytester"]
