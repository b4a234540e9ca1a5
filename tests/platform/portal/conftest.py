from tests.platform.subject_requests.conftest import (  # noqa: F401  (fixtures shared with the requests tests)
    _fast_passwords_and_fresh_throttles,
    file_request,
    officer,
)
