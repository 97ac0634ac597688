"""The resident engine: a command's Python with Prefect already imported, kept beside modelferry's server.

Importing Prefect and the flows costs every `modelferry` call about two seconds of one core before it does
anything, more than an unchanged re-run then takes. While modelferry's own Prefect server runs (`modelferry
server start`, or the one a conversion started), one more process runs beside it: `python -m
flows.resident.engine`, which imported the CLI, Prefect and the flows once (no thread started: forking it is
safe), and listens on MODELFERRY_HOME/server/engine.sock (its owner only).

The console script (flows/entry.py) hands its command to it when it can: it sends its arguments, working
folder and environment, with its stdin, stdout and stderr. The engine forks a child that checks the call is
one it would run exactly as the caller (protocol.refusal: the same interpreter, path, code and Prefect
settings), forks the command from there (its own process group, the caller's terminal, folder and
environment) and sends back its exit code. The caller passes Ctrl-C, SIGTERM and SIGHUP on to the command;
if the caller dies, the command gets SIGTERM, as if the user had pressed Ctrl-C.

Anything else runs the command in the caller's own process, as before: no engine, one that refuses (its code
changed since it started: it also ends, and the next call with the server starts a new one), a verbose
call, other Prefect settings, `modelferry server …`, or MODELFERRY_RESIDENT=off.
"""
