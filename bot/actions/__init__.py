"""Custom actions of the assistant, served by ``rasa run actions --actions bot.actions``.

rasa-sdk imports every module of this package and registers each Action
subclass it finds.
"""
