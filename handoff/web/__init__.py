"""Web console of the counsellors: login, queue, live chat, e-mail follow-ups and canned replies.

`python -m handoff serve` starts it through `handoff.web.app.serve`. The
console is a Sanic 21.12 application that runs in one process: its WebSocket
connections, the typing throttle and the background tasks live in that
process's memory, while every conversation and message lives in SQL.
"""
