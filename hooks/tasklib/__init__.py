"""The hook's parts (hooks/tasks.py is its command line): standard library only."""
