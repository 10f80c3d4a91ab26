"""Pure-Python dispatcher client (no widget imports).

``Dispatcher`` talks to the server, ``Job`` follows one request to its products, ``TokenInfo``
and ``redact`` deal with the user's token. All errors are the typed ones of
:mod:`oda_widgets.errors`, re-exported here.
"""

from oda_widgets.client.dispatcher import Dispatcher, RetryPolicy
from oda_widgets.client.job import Job, JobState, Progress, WaitTimeout
from oda_widgets.client.token import TokenInfo, discover_token, redact
from oda_widgets.errors import (
    AnalysisFailed,
    DispatcherUnavailable,
    InvalidParameter,
    OdaError,
    Redirected,
    RequestNotUnderstood,
    ResponseTooLarge,
    ServerError,
    TokenExpired,
    Unauthorized,
    UnsafePayload,
)

__all__ = [
    "Dispatcher",
    "RetryPolicy",
    "Job",
    "JobState",
    "Progress",
    "WaitTimeout",
    "TokenInfo",
    "discover_token",
    "redact",
    "OdaError",
    "RequestNotUnderstood",
    "Unauthorized",
    "TokenExpired",
    "AnalysisFailed",
    "DispatcherUnavailable",
    "ServerError",
    "ResponseTooLarge",
    "Redirected",
    "UnsafePayload",
    "InvalidParameter",
]
