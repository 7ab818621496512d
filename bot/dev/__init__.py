"""Tools for trying the bot locally: `issue-pilot demo` (its stack, person and display, the demo
project), the embedded local model and the scripted OpenAI-compatible model.

May import: any room; nothing in bot imports dev, except `bot.cli`.
"""
