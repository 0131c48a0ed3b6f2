"""`imgscaffold check`: the Dockerfile parser, the rules, the runner and the reports."""
