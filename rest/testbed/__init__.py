"""The tool-call testbed: a seeded generator of short tool-use tasks that a tiny model can
learn on a CPU in minutes, its held-out evaluator and its study (docs/method.md §8).

Tasks are in exactly the project's output format (``rest.formats``); the rule reward, the
regions and the trainers are the project's own.
"""
