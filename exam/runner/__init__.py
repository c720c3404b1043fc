"""The exam runner: what a candidate does with an attempt, from the lobby to the review.

- ``lobby``: the exams a person may sit, with attempts used and left
- ``start``: start or resume an attempt (the attempt limit holds under concurrency)
- ``payloads``: the paper, status and page payloads (never the key)
- ``autosave``: the one autosave rule (guarded write, ``explain_refusal``)
- ``submit``: submission and lazy finalization; ``marking``: scoring and regrading
- ``review``: result and review payloads, as the exam's policies allow
- ``events``: integrity signals
- ``statements``: prebuilt SQL shared by several of these modules
- ``helpers``, ``timing``: small pure pieces

Services take a ``Session`` (or, for autosave, a ``Connection``) and ``now``; they
flush but never commit. Question ids in payloads and the API are ``PaperItem.id``
(stable for the paper; positions are given alongside for display). Responses are
stored in *displayed* keys; the key never leaves the server before submission.
"""
