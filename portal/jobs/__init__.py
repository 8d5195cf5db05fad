"""Long work off the request path: jobs run by a worker, with progress a page can follow.

    job = jobs.submit("boundaries.upload", params, title, files=[...])   # in a request
    @jobs.handler("boundaries.upload")                                    # the work itself
    def read_upload(ctx: JobContext, **params) -> dict: ...

See runner (one transaction per job, progress), worker (the process, recovery after a
crash), queue (procrastinate beneath) and services (what users see).
"""

from portal.jobs.runner import JobContext, JobFailed, handler
from portal.jobs.services import pending, submit

__all__ = ["JobContext", "JobFailed", "handler", "pending", "submit"]
