"""The demo: a recorded stream of rejections, and what each team would read.

`policybot demo` replays `data/stream.yaml` (Events, audit events, a policy
report and kubectl output of four teams, with repeats) through the real
handler, against the workloads in `data/cluster.yaml` and the teams in
`data/teams.yaml`, and prints each team's Slack channel as it would look.
No Slack, no cluster and no network are involved.
"""

from bot.demo.running import DemoFiles, DemoRun, TerminalSink, render, run

__all__ = ["DemoFiles", "DemoRun", "TerminalSink", "render", "run"]
