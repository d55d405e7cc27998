"""Running Kyverno CLI test suites (`kyverno-test.yaml`) against our engine.

Kyverno's own policy library ships with these suites, which makes them the
yardstick for the engine: `policybot test` reports, expectation by
expectation, where our verdict and Kyverno's agree.
"""
