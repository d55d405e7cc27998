"""Fix synthesis: the smallest manifest change that makes a failing rule pass.

Each strategy (patterns, Pod Security checks, deny conditions, CEL
expressions) proposes JSON patch operations; `synthesis` applies them, proves
them by evaluating the policies again, and labels the fix `exact` or `guided`.
"""
