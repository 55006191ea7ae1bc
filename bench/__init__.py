"""`make bench`: what users feel, measured side by side against baselines from the same run.

Run as `python -m bench`. It starts the Azure DevOps emulator, a throwaway database and the app under
gunicorn, measures, prints a table of ratios with their budgets, writes bench/results.json and stops
everything it started. See README.md, "Performance".
"""
